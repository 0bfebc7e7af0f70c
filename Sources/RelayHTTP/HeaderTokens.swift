import HTTPTypes

/// The tokens of every `Connection` field of a request, lowercased (`close`, `keep-alive`,
/// `upgrade`): field names and values are case-insensitive lists (RFC 9110 §7.6.1).
struct ConnectionTokens {
    private let tokens: [Substring]

    init(_ fields: HTTPFields) {
        var tokens: [Substring] = []
        for value in fields[values: .connection] {
            for token in value.split(separator: ",") {
                tokens.append(Substring(token.trimmingWhitespace().lowercased()))
            }
        }
        self.tokens = tokens
    }

    func contains(_ token: String) -> Bool {
        self.tokens.contains { $0 == token }
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
        var bytes = Substring(value).utf8[...]
        if bytes.first == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return false }
            let literal = bytes[bytes.index(after: bytes.startIndex)..<close]
            guard !literal.isEmpty, literal.allSatisfy(Self.isIPLiteralByte) else { return false }
            bytes = bytes[bytes.index(after: close)...]
        } else {
            let end = bytes.firstIndex(of: UInt8(ascii: ":")) ?? bytes.endIndex
            guard bytes[..<end].allSatisfy(Self.isRegNameByte) else { return false }
            bytes = bytes[end...]
        }
        guard let colon = bytes.first else { return true }
        guard colon == UInt8(ascii: ":") else { return false }
        let port = bytes.dropFirst()
        return port.count <= 5 && port.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
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
