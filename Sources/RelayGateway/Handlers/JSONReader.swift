/// JSON text read one byte at a time, for the readers that must not go through `JSONDecoder`:
/// ``FlatJSONObject`` (the publish body, on the hot path) and the JWT filter's
/// ``DuplicateMemberScan``. Every method returns nil (or false) at the first thing it is not sure
/// of: the caller then leaves the verdict to `JSONDecoder`.
struct JSONReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    /// A string: plain runs are copied as they are (checked as UTF-8 at the end), escapes
    /// decoded; control characters and bad escapes are nil.
    mutating func string() -> String? {
        guard self.peek() == UInt8(ascii: "\"") else { return nil }
        self.index += 1
        let start = self.index
        // The common case, no escape: one copy straight from the buffer, checked as UTF-8 unless
        // every byte is ASCII (which is UTF-8 as it is).
        var ascii = true
        let count = self.bytes.count
        var index = self.index
        while index < count {
            let byte = self.bytes[index]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { return nil }
            ascii = ascii && byte < 0x80
            index += 1
        }
        self.index = index
        guard let stop = self.peek() else { return nil }
        if stop == UInt8(ascii: "\"") {
            let run = UnsafeBufferPointer(rebasing: self.bytes[start..<self.index])
            self.index += 1
            return ascii ? String(decoding: run, as: UTF8.self) : String(validating: run, as: UTF8.self)
        }
        var decoded = Array(self.bytes[start..<self.index])
        while let byte = self.peek() {
            self.index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(validating: decoded, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard self.escape(into: &decoded) else { return nil }
            case ..<0x20:
                return nil
            default:
                decoded.append(byte)
            }
        }
        return nil
    }

    private mutating func escape(into decoded: inout [UInt8]) -> Bool {
        guard let byte = self.peek() else { return false }
        self.index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(byte)
        case UInt8(ascii: "b"): decoded.append(0x08)
        case UInt8(ascii: "f"): decoded.append(0x0C)
        case UInt8(ascii: "n"): decoded.append(0x0A)
        case UInt8(ascii: "r"): decoded.append(0x0D)
        case UInt8(ascii: "t"): decoded.append(0x09)
        case UInt8(ascii: "u"):
            guard var scalar = self.hex4() else { return false }
            if (0xD800..<0xDC00).contains(scalar) {
                // A high surrogate must be followed by an escaped low one.
                guard self.take(UInt8(ascii: "\\"), skippingSpace: false), self.take(UInt8(ascii: "u"), skippingSpace: false),
                    let low = self.hex4(), (0xDC00..<0xE000).contains(low)
                else { return false }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                return false
            }
            guard let character = Unicode.Scalar(scalar) else { return false }
            decoded.append(contentsOf: String(character).utf8)
        default:
            return false
        }
        return true
    }

    private mutating func hex4() -> UInt32? {
        guard self.index + 4 <= self.bytes.count else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = self.bytes[self.index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
            self.index += 1
        }
        return value
    }

    /// `-?(0|[1-9][0-9]*)` fitting in an `Int`, followed by a delimiter.
    mutating func integer() -> Int? {
        let negative = self.peek() == UInt8(ascii: "-")
        if negative { self.index += 1 }
        let start = self.index
        var magnitude: UInt64 = 0
        while let byte = self.peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            magnitude = sum
            self.index += 1
        }
        let digits = self.index - start
        guard digits > 0, digits == 1 || self.bytes[start] != UInt8(ascii: "0") else { return nil }
        if let next = self.peek(), next == UInt8(ascii: ".") || next == UInt8(ascii: "e") || next == UInt8(ascii: "E") {
            return nil
        }
        if negative {
            guard magnitude <= UInt64(Int.max) + 1 else { return nil }
            return magnitude == UInt64(Int.max) + 1 ? Int.min : -Int(magnitude)
        }
        guard magnitude <= UInt64(Int.max) else { return nil }
        return Int(magnitude)
    }

    mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard self.index + count <= self.bytes.count else { return false }
        for offset in 0..<count where self.bytes[self.index + offset] != word.utf8Start[offset] {
            return false
        }
        self.index += count
        return true
    }

    /// Skips whitespace (unless told not to), then consumes `byte` if it comes next.
    mutating func take(_ byte: UInt8, skippingSpace: Bool = true) -> Bool {
        if skippingSpace { self.skipSpace() }
        guard self.peek() == byte else { return false }
        self.index += 1
        return true
    }

    mutating func skipSpace() {
        while let byte = self.peek(),
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\t")
        {
            self.index += 1
        }
    }

    func peek() -> UInt8? {
        self.index < self.bytes.count ? self.bytes[self.index] : nil
    }
}
