/// Finds a member name given twice in one object of a JSON text, at any depth.
///
/// JSON leaves repeated names to the reader (RFC 8259 §4), and `JSONDecoder` keeps one of them
/// silently: `{"alg":"HS256","alg":"none"}` reads as HS256 to it and may read as `none` to another
/// library. For a security token the only safe reading is none at all (RFC 7515 §4, RFC 7519 §4),
/// so a token's header and claims are scanned with this first. No decoder at hand reports repeated
/// names; this one reads names with their escapes decoded (`"al\u0067"` is `alg`, by
/// ``JSONReader``), steps over everything else, and is linear in the text, with no recursion. For
/// a text that is not JSON its answer means nothing: the decoder refuses that text anyway.
enum DuplicateMemberScan {
    /// The first name repeated within one object, or nil.
    static func firstDuplicate(in bytes: [UInt8]) -> String? {
        bytes.withUnsafeBufferPointer { buffer in
            var reader = JSONReader(bytes: buffer)
            /// The names seen in each open object; nil for an open array.
            var open: [Set<String>?] = []
            var expectsName = false
            while let byte = reader.peek() {
                guard byte == UInt8(ascii: "\"") else {
                    reader.index += 1
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
                        // In an object, a name comes next.
                        expectsName = open.last.map { $0 != nil } ?? false
                    default:
                        break
                    }
                    continue
                }
                guard let string = reader.string() else { return nil }
                if expectsName, let object = open.indices.last, open[object] != nil {
                    guard open[object]!.insert(string).inserted else { return string }
                }
                expectsName = false
            }
            return nil
        }
    }
}
