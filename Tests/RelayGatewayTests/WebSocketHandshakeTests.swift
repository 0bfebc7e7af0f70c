import Foundation
import Testing

/// RFC 6455 §4.2 from a raw socket: a handshake that breaks it gets a real HTTP answer with a JSON
/// body (never a silent close): 426 with `Sec-WebSocket-Version: 13` for a version other than 13,
/// 400 for a bad key, no `Connection: Upgrade`, HTTP/1.0 or a body; a valid one gets 101 with
/// the right `Sec-WebSocket-Accept`.
@Suite struct WebSocketHandshakeTests {
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="

    static func handshake(
        path: String, version: String = "HTTP/1.1", connection: String? = "Upgrade", keys: [String] = [key], versions: [String] = ["13"],
        extra: String = ""
    ) -> String {
        var lines = ["GET \(path) \(version)", "Host: 127.0.0.1", "Upgrade: websocket"]
        if let connection { lines.append("Connection: \(connection)") }
        lines += keys.map { "Sec-WebSocket-Key: \($0)" }
        lines += versions.map { "Sec-WebSocket-Version: \($0)" }
        return lines.joined(separator: "\r\n") + "\r\n" + extra + "\r\n"
    }

    static let refusals: [(name: String, status: Int, make: @Sendable (String) -> String)] = [
        ("version 8", 426, { handshake(path: $0, versions: ["8"]) }),
        ("no version", 426, { handshake(path: $0, versions: []) }),
        ("two versions", 426, { handshake(path: $0, versions: ["13", "13"]) }),
        ("no key", 400, { handshake(path: $0, keys: []) }),
        ("an empty key", 400, { handshake(path: $0, keys: [""]) }),
        ("two keys", 400, { handshake(path: $0, keys: [key, key]) }),
        ("a short key", 400, { handshake(path: $0, keys: ["abc"]) }),
        ("a key that is not base64", 400, { handshake(path: $0, keys: ["dGhlIHNhbXBsZSBub25jZQ!="]) }),
        ("a key of 15 bytes", 400, { handshake(path: $0, keys: ["dGhlIHNhbXBsZSBub25j"]) }),
        ("a key of 17 bytes", 400, { handshake(path: $0, keys: ["dGhlIHNhbXBsZSBub25jZSE="]) }),
        ("no Connection: Upgrade", 400, { handshake(path: $0, connection: nil) }),
        ("Connection: keep-alive only", 400, { handshake(path: $0, connection: "keep-alive") }),
        ("HTTP/1.0", 400, { handshake(path: $0, version: "HTTP/1.0") }),
        ("a body", 400, { handshake(path: $0, extra: "Content-Length: 2\r\n") + "hi" }),
    ]

    @Test(arguments: refusals.map(\.name))
    func badHandshakesGetARealAnswer(name: String) async throws {
        let (_, status, make) = Self.refusals.first { $0.name == name }!
        try await RunningGateway.with(yaml: RunningGateway.seedYAML()) { gateway in
            let url = try await gateway.register(userID: 1)
            let path = String(url.dropFirst("ws://127.0.0.1:\(gateway.port)".count))
            let (answer, _) = try await HTTPFramingTests.exchange(Array(make(path).utf8), port: gateway.port)
            #expect(HTTPFramingTests.answers(in: answer) == [status], "\(name): \(answer)")
            #expect(answer.contains(#"{"error":""#), "\(name): \(answer)")
            if status == 426 {
                #expect(answer.contains("Sec-WebSocket-Version: 13"), "\(name): \(answer)")
            }
            #expect(gateway.gateway.relay.counts.connections == 0)
            // The registration is still good for a proper handshake.
            let subscriber = try await TestSubscriber.connect(url)
            #expect(try await gateway.publish(topic: "cats", message: "ok") == 1)
            try await subscriber.close()
        }
    }

    @Test func aValidHandshakeGetsTheRFCsAcceptValue() async throws {
        try await RunningGateway.with(yaml: RunningGateway.seedYAML()) { gateway in
            let url = try await gateway.register(userID: 1)
            let socket = try RawSocket(port: gateway.port)
            // RFC 6455 §1.3's example key, with header names in odd cases and a token list.
            socket.send(
                "GET \(url.dropFirst("ws://127.0.0.1:\(gateway.port)".count)) HTTP/1.1\r\nhost: 127.0.0.1\r\nUPGRADE: WebSocket\r\n"
                    + "connection: keep-alive, Upgrade\r\nsec-websocket-key: \(Self.key)\r\nsec-websocket-version: 13\r\n\r\n"
            )
            let answer = String(decoding: await socket.receive(until: "\r\n\r\n"), as: UTF8.self)
            #expect(answer.hasPrefix("HTTP/1.1 101 Switching Protocols"), "\(answer)")
            #expect(answer.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "\(answer)")
            try await eventually("attached") { gateway.gateway.relay.counts.connections == 1 }
        }
    }

    @Test func anUpgradeToAnotherRouteIsServedAsAPlainRequestAndClosed() async throws {
        try await RunningGateway.with(yaml: RunningGateway.seedYAML()) { gateway in
            let (answer, _) = try await HTTPFramingTests.exchange(Array(Self.handshake(path: "/health").utf8), port: gateway.port)
            #expect(HTTPFramingTests.answers(in: answer) == [200], "\(answer)")
            #expect(answer.lowercased().contains("connection: close"))
        }
    }
}
