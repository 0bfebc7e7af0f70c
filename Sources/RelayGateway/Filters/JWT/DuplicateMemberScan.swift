/// Finds a member name given twice in one object of a JSON text, at any depth.
///
/// JSON leaves repeated names to the reader (RFC 8259 §4), and `JSONDecoder` keeps one of them
/// silently: `{"alg":"HS256","alg":"none"}` reads as HS256 to it and may read as `none` to another
/// library. For a security token the only safe reading is none at all (RFC 7515 §4, RFC 7519 §4),
/// so a token's header and claims are scanned with this first. Hand-written because no decoder at
/// hand reports repeated names; it reads names with their escapes decoded (`"al\u0067"` is
/// `alg`), skips everything else, and is linear in the text, with no recursion. For a text that
/// is not JSON its answer means nothing: the decoder refuses that text anyway.
enum DuplicateMemberScan {
    /// The first name repeated within one object, or nil.
    static func firstDuplicate(in bytes: [UInt8]) -> String? {
        /// The names seen in each open object; nil for an open array.
        var open: [Set<String>?] = []
        var expectsName = false
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "{"):
                open.append([])
                expectsName = true
            case UInt8(ascii: "["):
                open.append(nil)
                expectsName = false
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = open.popLast()
                expectsName = false
            case UInt8(ascii: ","):
                expectsName = open.last.map { $0 != nil } ?? false
            case UInt8(ascii: "\""):
                let string = Self.string(in: bytes, from: &index)
                if expectsName, let name = string, let object = open.indices.last, open[object] != nil {
                    guard open[object]!.insert(name).inserted else { return name }
                }
                expectsName = false
            default:
                continue
            }
        }
        return nil
    }

    /// Reads a string whose opening quote was just read, leaving `index` after its closing one;
    /// its value, or nil when it is not valid (the decoder will say so).
    private static func string(in bytes: [UInt8], from index: inout Int) -> String? {
        var value: [UInt8] = []
        var valid = true
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return valid ? String(decoding: value, as: UTF8.self) : nil
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { return nil }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "b"): value.append(0x08)
                case UInt8(ascii: "f"): value.append(0x0C)
                case UInt8(ascii: "n"): value.append(0x0A)
                case UInt8(ascii: "r"): value.append(0x0D)
                case UInt8(ascii: "t"): value.append(0x09)
                case UInt8(ascii: "u"):
                    guard let scalar = Self.unicodeEscape(in: bytes, from: &index) else {
                        valid = false
                        continue
                    }
                    value.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: value.append(escaped)
                }
            default:
                value.append(byte)
            }
        }
        return nil
    }

    /// The scalar of `XXXX` after `\u` (with its low surrogate, `\uXXXX`, when it is a high one).
    private static func unicodeEscape(in bytes: [UInt8], from index: inout Int) -> Unicode.Scalar? {
        guard let unit = Self.hex4(bytes, &index) else { return nil }
        guard (0xD800..<0xDC00).contains(unit) else { return Unicode.Scalar(unit) }
        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else { return nil }
        index += 2
        guard let low = Self.hex4(bytes, &index), (0xDC00..<0xE000).contains(low) else { return nil }
        return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
    }

    private static func hex4(_ bytes: [UInt8], _ index: inout Int) -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        var unit: UInt32 = 0
        for byte in bytes[index..<index + 4] {
            guard let digit = Character(Unicode.Scalar(byte)).hexDigitValue else { return nil }
            unit = unit << 4 | UInt32(digit)
        }
        index += 4
        return unit
    }
}
