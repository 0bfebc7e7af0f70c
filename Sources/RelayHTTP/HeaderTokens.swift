import HTTPTypes

/// What the `Connection` fields of a message ask for (RFC 9110 §7.6.1: comma-separated,
/// case-insensitive tokens), read without allocating: most requests have no such field at all.
struct ConnectionTokens {
    private(set) var close = false
    private(set) var keepAlive = false
    private(set) var upgrade = false

    private static let connection = HTTPField.Name.connection

    init(_ fields: HTTPFields) {
        for field in fields where field.name == Self.connection {
            for token in field.value.utf8.split(separator: UInt8(ascii: ",")) {
                var bytes = token.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
                while let last = bytes.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { bytes = bytes.dropLast() }
                if Self.equalsIgnoringCase(bytes, "close") {
                    self.close = true
                } else if Self.equalsIgnoringCase(bytes, "keep-alive") {
                    self.keepAlive = true
                } else if Self.equalsIgnoringCase(bytes, "upgrade") {
                    self.upgrade = true
                }
            }
        }
    }

    /// ASCII case-insensitive equality with a lowercase `word`.
    private static func equalsIgnoringCase(_ bytes: Substring.UTF8View.SubSequence, _ word: StaticString) -> Bool {
        guard bytes.count == word.utf8CodeUnitCount else { return false }
        return word.withUTF8Buffer { expected in
            zip(bytes, expected).allSatisfy { byte, lower in
                (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte) == lower
            }
        }
    }
}

extension HTTPFields {
    /// The first value of `name`: a scan, with no index built and no values joined (the
    /// subscript does both), for the few fields looked up once per request.
    public func first(_ name: HTTPField.Name) -> String? {
        for field in self where field.name == name {
            return field.value
        }
        return nil
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    func trimmingWhitespace() -> Substring {
        var slice = self[...]
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return Substring(slice)
    }
}

/// RFC 9112 §3.2 and RFC 3986 §3.2.2: a `Host` value is `uri-host [":" port]`, where the host is
/// an IP literal in brackets or a reg-name (unreserved, percent-encoded and sub-delims
/// characters), possibly empty.
enum HostRules {
    static func isValid(_ value: String) -> Bool {
        // Over the bytes themselves: a Substring's UTF-8 view costs each request some 1,200
        // instructions in index arithmetic (callgrind).
        var value = value
        return value.withUTF8 { bytes in
            var index = 0
            if bytes.first == UInt8(ascii: "[") {
                guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return false }
                let literal = bytes[1..<close]
                guard !literal.isEmpty, literal.allSatisfy(Self.isIPLiteralByte) else { return false }
                index = close + 1
            } else {
                while index < bytes.count, bytes[index] != UInt8(ascii: ":") {
                    guard Self.isRegNameByte(bytes[index]) else { return false }
                    index += 1
                }
            }
            guard index < bytes.count else { return true }
            guard bytes[index] == UInt8(ascii: ":") else { return false }
            let port = bytes[(index + 1)...]
            return port.count <= 5 && port.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        }
    }

    private static func isRegNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "%"): true
        case UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"),
            UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="):
            true
        default: false
        }
    }

    private static func isIPLiteralByte(_ byte: UInt8) -> Bool {
        self.isRegNameByte(byte) || byte == UInt8(ascii: ":")
    }
}
