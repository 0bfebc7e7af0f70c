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

    /// Frames sent in the same write as the handshake reach the WebSocket, however many: with a
    /// 1 KiB body limit the engine reads in 1 KiB slices, and the upgrade happens in the middle of
    /// the write (the slices after it go to the frame decoder whole, in order).
    @Test func framesInTheSameWriteAsTheHandshakeAreAllRead() async throws {
        try await RunningGateway.with(yaml: HostileClientTests.yaml) { gateway in
            let url = try await gateway.register(userID: 1)
            let socket = try RawSocket(port: gateway.port)
            let handshake =
                "GET \(url.dropFirst("ws://127.0.0.1:\(gateway.port)".count)) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: \(Self.key)\r\nSec-WebSocket-Version: 13\r\n\r\n"
            let pings = (0..<300).flatMap { _ in HostileClientTests.frame(opcode: 0x1, payload: Array("ping".utf8)) }
            #expect(pings.count > 2 * 1024)
            await socket.sendAll(Array(handshake.utf8) + pings)
            let pong: [UInt8] = [0x81, 0x04] + Array("pong".utf8)
            var received: [UInt8] = []
            let deadline = ContinuousClock.now + .seconds(10)
            while received.count < pong.count * 300 + 100, ContinuousClock.now < deadline {
                received += await socket.receive(timeout: .milliseconds(200))
            }
            let headEnd = try #require((0..<received.count - 3).first { received[$0..<$0 + 4].elementsEqual([13, 10, 13, 10]) }) + 4
            #expect(String(decoding: received[..<headEnd], as: UTF8.self).hasPrefix("HTTP/1.1 101 "))
            let frames = Array(received[headEnd...])
            let pongs = stride(from: 0, to: frames.count - pong.count + 1, by: pong.count).prefix { frames[$0..<$0 + pong.count].elementsEqual(pong) }
                .count
            #expect(pongs == 300 && frames.count == 300 * pong.count, "every ping answered after the 101: \(pongs) pongs in \(frames.count) bytes")
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
