import HTTPTypes
import NIOHTTP1

/// RFC 6455 §4.2.1 on a request for a WebSocket route: whether it is a handshake at all, and
/// whether it is a valid one. NIO's upgrader checks a little of this and answers a bad handshake
/// by closing the connection without a word; here each refusal is a real HTTP answer.
enum HandshakeRules {
    /// Whether the request asks for a WebSocket (`Upgrade: websocket`); plain requests to a
    /// WebSocket route are the handler's to answer (426).
    static func asksForWebSocket(_ fields: HTTPFields) -> Bool {
        fields[values: .upgrade].contains { value in
            value.split(separator: ",").contains { (token: Substring) in token.trimmingWhitespace().lowercased() == "websocket" }
        }
    }

    /// Throws the answer for a handshake RFC 6455 does not allow.
    static func validate(_ fields: HTTPFields, version: HTTPVersion, hasBody: Bool) throws(HTTPError) {
        guard version.major == 1, version.minor >= 1 else {
            throw HTTPError(.badRequest, "a WebSocket handshake needs HTTP/1.1")
        }
        guard ConnectionTokens(fields).upgrade else {
            throw HTTPError(.badRequest, "a WebSocket handshake needs Connection: Upgrade")
        }
        let versions = fields[values: .secWebSocketVersion]
        guard versions.count == 1, versions[0].trimmingWhitespace() == "13" else {
            throw HTTPError(
                .upgradeRequired, "unsupported WebSocket version; this server speaks version 13",
                headers: [.secWebSocketVersion: "13"]
            )
        }
        let keys = fields[values: .secWebSocketKey]
        guard keys.count == 1, Self.isValidKey(String(keys[0].trimmingWhitespace())) else {
            throw HTTPError(.badRequest, "Sec-WebSocket-Key must be one base64 encoding of 16 bytes")
        }
        guard !hasBody else {
            throw HTTPError(.badRequest, "a WebSocket handshake has no body")
        }
    }

    /// Base64 of exactly 16 bytes: 22 characters of the alphabet (the last with its 4 low bits
    /// zero), then `==`.
    static func isValidKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard bytes.count == 24, bytes[22] == UInt8(ascii: "="), bytes[23] == UInt8(ascii: "=") else { return false }
        var last: UInt8 = 0
        for byte in bytes[..<22] {
            guard let value = Self.base64Value(byte) else { return false }
            last = value
        }
        return last & 0x0F == 0
    }

    private static func base64Value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
