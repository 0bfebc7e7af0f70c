import Foundation
import HTTPTypes
import RelayCore
import Testing

/// Clients that break the protocol, hog resources or send garbage: each gets the documented
/// answer, and the server keeps serving everyone else.
@Suite(.timed) struct HostileClientTests {
    static let yaml = RunningGateway.seedYAML(relay: "relay: {max_message_bytes: 1KiB}")

    /// A client frame with a mask (unless `masked` is false).
    static func frame(opcode: UInt8, fin: Bool = true, rsv: UInt8 = 0, masked: Bool = true, payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | rsv | opcode]
        let maskBit: UInt8 = masked ? 0x80 : 0
        if payload.count < 126 {
            bytes.append(maskBit | UInt8(payload.count))
        } else {
            bytes.append(maskBit | 126)
            bytes += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        }
        guard masked else { return bytes + payload }
        let key: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        return bytes + key + payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
    }

    /// The status code of the first close frame in what the server sent, if any.
    static func closeCode(in bytes: [UInt8]) -> Int? {
        var index = 0
        while index + 1 < bytes.count {
            let opcode = bytes[index] & 0x0F
            var length = Int(bytes[index + 1] & 0x7F)
            var header = 2
            if length == 126, index + 3 < bytes.count {
                length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
                header = 4
            }
            if opcode == 0x8, index + header + 1 < bytes.count {
                return Int(bytes[index + header]) << 8 | Int(bytes[index + header + 1])
            }
            index += header + length
        }
        return nil
    }

    /// Handshakes a raw socket for a fresh registration; what follows the 101 head is returned.
    static func connectRaw(_ gateway: RunningGateway) async throws -> RawSocket {
        let url = try await gateway.register(userID: 1)
        let socket = try RawSocket(port: gateway.port)
        let head = await socket.handshake(path: String(url.dropFirst("ws://127.0.0.1:\(gateway.port)".count)))
        #expect(head.hasPrefix("HTTP/1.1 101"), "\(head)")
        return socket
    }

    /// Frames no client may send, by name, with the close code each must get: one per code on a
    /// live socket, while others stay served. Every rule of RFC 6455 the transport enforces is
    /// checked without a socket in `WebSocketTransportTests.protocolViolationsFailTheConnectionWithTheRightCode`.
    static let violations: [String: (bytes: [UInt8], code: Int)] = [
        "unmasked frame": (frame(opcode: 0x1, masked: false, payload: Array("ping".utf8)), 1002),
        "invalid UTF-8": (frame(opcode: 0x1, payload: [0xFF, 0xFE, 0xFD]), 1007),
        "oversized frame": (frame(opcode: 0x1, payload: [UInt8](repeating: 0x61, count: 2000)), 1009),
        // What the gateway's own frame reader refuses, before any payload is read.
        "fragmented control frame": (frame(opcode: 0x9, fin: false, payload: []), 1002),
        "control frame over 125 bytes": (frame(opcode: 0x9, payload: [UInt8](repeating: 0, count: 126)), 1002),
        "64-bit length past the limit, header only": ([0x81, 0xFF, 0, 0, 0x01, 0, 0, 0, 0, 0], 1009),
    ]

    /// A frame that arrives a byte at a time is read whole, once: the reader keeps what is not yet a frame.
    @Test func aFrameSentAByteAtATimeIsReadWhole() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let socket = try await Self.connectRaw(gateway)
            // One write per byte (the reads may still join some; ClientFrameReaderTests splits at every byte).
            for byte in Self.frame(opcode: 0x1, payload: Array("ping".utf8)) {
                socket.send([byte])
            }
            #expect(await socket.receive(timeout: .seconds(5), until: "pong") == [0x81, 0x04] + Array("pong".utf8))
        }
    }

    @Test(arguments: violations.keys.sorted())
    func protocolViolationsCloseWithTheRightCode(name: String) async throws {
        let (bytes, code) = Self.violations[name]!
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let healthy = try await TestSubscriber.connect(try await gateway.register(userID: 2))
            let socket = try await Self.connectRaw(gateway)
            socket.send(bytes)
            let answer = await socket.receive(timeout: .seconds(5))
            #expect(Self.closeCode(in: answer) == code, "\(name): got \(answer.count) bytes starting \(answer.prefix(8))")
            try await eventually("\(name): detached") { gateway.gateway.relay.counts.connections == 1 }
            #expect(try await gateway.publish(topic: "cats", message: "still here") == 1)
            #expect(try await healthy.message(1) == "still here")
            try await healthy.close()
        }
    }

    /// RFC 6455 §7.1.1: after its close frame the server waits for the client's before closing
    /// TCP (so the client reads the code, not a reset), and drops a client that never answers.
    @Test func serverClosesWaitForTheClientsCloseFrame() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            var sockets: [RawSocket] = []
            for user in 1...2 {
                let url = try await gateway.register(userID: user)
                let socket = try RawSocket(port: gateway.port)
                let path = String(url.dropFirst("ws://127.0.0.1:\(gateway.port)".count))
                #expect(await socket.handshake(path: path).hasPrefix("HTTP/1.1 101"))
                #expect(try await HTTP.delete(gateway.url(path.replacingOccurrences(of: "/ws/", with: "/register/"))).status == 200)
                sockets.append(socket)
            }
            let (answering, silent) = (sockets[0], sockets[1])
            #expect(Self.closeCode(in: await answering.receive(timeout: .seconds(5), until: "unregistered")) == 1000)
            // Still open: no EOF for a while.
            let start = ContinuousClock.now
            #expect(await answering.receive(timeout: .milliseconds(400)).isEmpty)
            #expect(ContinuousClock.now - start >= .milliseconds(350), "the server closed TCP before the client's close frame")
            answering.send(Self.frame(opcode: 0x8, payload: [0x03, 0xE8]))
            let answeredAt = ContinuousClock.now
            #expect(await answering.receive(timeout: .seconds(5)).isEmpty)
            #expect(ContinuousClock.now - answeredAt < .seconds(1), "closed once the client answered")

            #expect(Self.closeCode(in: await silent.receive(timeout: .seconds(5), until: "unregistered")) == 1000)
            let silentStart = ContinuousClock.now
            #expect(await silent.receive(timeout: .seconds(6)).isEmpty)
            let waited = ContinuousClock.now - silentStart
            #expect(waited < .seconds(5), "a client that never answers is dropped after the close timeout; waited \(waited)")
        }
    }

    @Test func maxConnectionsAnswers503AndFreesSlotsOnClose() async throws {
        let yaml = RunningGateway.seedYAML().replacingOccurrences(of: "    port: 0\n", with: "    port: 0\n    max_connections: 2\n")
        try await RunningGateway.with(yaml: yaml) { gateway in
            let first = try await TestSubscriber.connect(try await gateway.register(userID: 1))
            let second = try await TestSubscriber.connect(try await gateway.register(userID: 2))
            let third = try await gateway.register(userID: 3)
            let refused = try await HTTP.upgradeAttempt(third.replacingOccurrences(of: "ws://", with: "http://"))
            #expect(refused.status == 503)
            #expect(refused.error?.hasPrefix("at capacity") == true)
            #expect(try await gateway.publish(topic: "cats", message: "hi") == 2)

            try await first.close()
            try await eventually("slot freed") {
                (try? await HTTP.upgradeAttempt(third.replacingOccurrences(of: "ws://", with: "http://")).status) != 503
            }
            try await second.close()
        }
    }

    @Test func silentClientsAreClosedAfterThePingTimeout() async throws {
        let yaml = RunningGateway.seedYAML(relay: "relay: {ping_interval: 10s, ping_timeout: 30s}")
        let clock = ManualClock()
        try await RunningGateway.with(yaml: yaml, clock: clock) { gateway in
            // The answering client says something after each ping; the raw socket never does.
            let answering = try await TestSubscriber.connect(try await gateway.register(userID: 1))
            let silent = try await Self.connectRaw(gateway)
            try await eventually("both attached") { gateway.gateway.relay.counts.connections == 2 }
            for round in 1...3 {
                try await clock.advance(by: .seconds(10))
                answering.send("ping")
                #expect(try await answering.message(round) == "pong")
            }
            // 30 s of silence is the timeout, not past it.
            #expect(gateway.gateway.relay.counts.connections == 2)
            try await clock.advance(by: .seconds(10))
            let received = await silent.receive(timeout: .seconds(10), until: "ping timeout")
            #expect(received.contains(0x89), "the server pinged")
            #expect(Self.closeCode(in: received) == 1001)
            try await eventually("silent one detached") { gateway.gateway.relay.counts.connections == 1 }
            #expect(try await gateway.publish(topic: "cats", message: "alive") == 1)
            #expect(try await answering.message(4) == "alive")
            try await answering.close()
        }
    }

    @Test func slowHeadersAndIdleKeepAliveConnectionsAreClosed() async throws {
        let yaml = RunningGateway.seedYAML(relay: "relay: {handshake_timeout: 500ms, idle_timeout: 500ms}")
        try await RunningGateway.with(yaml: yaml) { gateway in
            // Slowloris: a request head that never completes.
            let slow = try RawSocket(port: gateway.port)
            slow.send("GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: 1")
            let start = ContinuousClock.now
            let slowAnswer = await slow.receive(timeout: .seconds(5))
            #expect(slowAnswer.isEmpty)
            #expect(ContinuousClock.now - start < .seconds(3), "closed after the handshake timeout")

            // A body that never completes: the head arrived, the body must follow within the same
            // timeout, and the connection closes without an answer.
            let trickle = try RawSocket(port: gateway.port)
            trickle.send("POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"topic\"")
            let trickleStart = ContinuousClock.now
            #expect(await trickle.receive(timeout: .seconds(5)).isEmpty)
            #expect(ContinuousClock.now - trickleStart < .seconds(3), "closed after the handshake timeout")

            // A keep-alive connection that goes quiet after its answer.
            let idle = try RawSocket(port: gateway.port)
            idle.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            let first = String(decoding: await idle.receive(timeout: .seconds(5), until: "}"), as: UTF8.self)
            #expect(first.hasPrefix("HTTP/1.1 200"))
            let idleStart = ContinuousClock.now
            let rest = await idle.receive(timeout: .seconds(5))
            #expect(rest.isEmpty)
            #expect(ContinuousClock.now - idleStart < .seconds(3), "closed after the idle timeout")

            #expect(try await HTTP.get(gateway.url("/health")).status == 200)
        }
    }

    @Test func garbageOnThePlainPortLeavesTheServerServing() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            // A TLS ClientHello on the plain-text port.
            let tls = try RawSocket(port: gateway.port)
            tls.send([0x16, 0x03, 0x01, 0x00, 0xA5, 0x01, 0x00, 0x00, 0xA1, 0x03, 0x03] + [UInt8](repeating: 0x42, count: 64))
            let tlsAnswer = String(decoding: await tls.receive(timeout: .seconds(3)), as: UTF8.self)
            #expect(tlsAnswer.hasPrefix("HTTP/1.1 400"), "\(tlsAnswer)")

            // Endless headers: the connection is refused or cut, not buffered forever.
            let headers = try RawSocket(port: gateway.port)
            headers.send("GET /health HTTP/1.1\r\nHost: x\r\n")
            for _ in 0..<200 {
                headers.send("X-Filler: " + String(repeating: "a", count: 1000) + "\r\n")
            }
            let headersAnswer = String(decoding: await headers.receive(timeout: .seconds(3)), as: UTF8.self)
            #expect(headersAnswer.hasPrefix("HTTP/1.1 431"), "\(headersAnswer.prefix(40))")

            // A huge Content-Length and then nothing.
            let body = try RawSocket(port: gateway.port)
            body.send("POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 999999999999\r\n\r\n{")
            let bodyAnswer = String(decoding: await body.receive(timeout: .seconds(3), until: "}"), as: UTF8.self)
            #expect(bodyAnswer.hasPrefix("HTTP/1.1 413"), "\(bodyAnswer.prefix(60))")

            // Handshakes left half-finished, and a crowd of connections opened and dropped.
            let halfOpen = try (0..<20).map { _ in try RawSocket(port: gateway.port) }
            for socket in halfOpen {
                socket.send("GET /ws/00000000000000000000000000000000 HTTP/1.1\r\nUpgrade: websocket\r\n")
            }
            var dropped: [RawSocket] = []
            for _ in 0..<1000 {
                dropped.append(try RawSocket(port: gateway.port))
            }
            dropped.removeAll()

            #expect(try await HTTP.get(gateway.url("/health")).status == 200)
            let subscriber = try await TestSubscriber.connect(try await gateway.register(userID: 1))
            #expect(try await gateway.publish(topic: "cats", message: "fine") == 1)
            #expect(try await subscriber.message(1) == "fine")
            try await subscriber.close()
            _ = halfOpen
        }
    }
}
