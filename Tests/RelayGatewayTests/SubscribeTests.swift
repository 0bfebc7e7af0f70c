import RelayCore
import Testing
import WSClient

/// The `subscribe` route: handshake answers, reconnects, replacement and client frames.
@Suite struct SubscribeTests {
    static let yaml = RunningGateway.seedYAML(relay: "relay: {max_topics_per_client: 3, max_topic_length: 10}")

    @Test func unknownIDGetsHTTP404WithJSONOnTheHandshake() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            for id in ["00000000000000000000000000000000", "not-an-id", "ABCDEF00000000000000000000000000"] {
                let answer = try await HTTP.upgradeAttempt(gateway.url("/ws/\(id)"))
                #expect(answer.status == 404)
                #expect(answer.error == "unknown client id")
            }
            await #expect(throws: (any Error).self) {
                _ = try await TestSubscriber.connect("ws://127.0.0.1:\(gateway.port)/ws/00000000000000000000000000000000")
            }
        }
    }

    /// A handshake after other requests on a keep-alive connection (as a proxy with pooled
    /// connections may send it) upgrades that connection, and frames the client sent right behind
    /// its handshake, in the same packet, are read as WebSocket frames.
    @Test func aHandshakeLaterOnAKeepAliveConnectionUpgradesIt() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let url = try await gateway.register(userID: 1)
            let id = url.split(separator: "/").last!
            let socket = try RawSocket(port: gateway.port)
            for _ in 0..<2 {
                socket.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                let answer = String(decoding: await socket.receive(until: "\"status\":\"ok\"}"), as: UTF8.self)
                #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer)")
            }
            socket.send(
                Array(
                    ("GET /ws/\(id) HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").utf8
                ) + HostileClientTests.frame(opcode: 0x1, payload: Array("ping".utf8))
            )
            let answer = String(decoding: await socket.receive(until: "pong"), as: UTF8.self)
            #expect(answer.hasPrefix("HTTP/1.1 101 Switching Protocols"), "\(answer)")
            #expect(answer.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "\(answer)")
            #expect(answer.hasSuffix("pong"), "\(answer)")
            #expect(try await gateway.publish(topic: "cats", message: "meow") == 1)
            #expect(String(decoding: await socket.receive(until: "meow"), as: UTF8.self).hasSuffix("meow"))
        }
    }

    @Test func plainGETWithoutUpgradeGets426() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let url = try await gateway.register(userID: 1)
            let id = url.split(separator: "/").last!
            let answer = try await HTTP.get(gateway.url("/ws/\(id)"))
            #expect(answer.status == 426)
            #expect(answer.error != nil)
        }
    }

    @Test func reconnectKeepsTopics() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let url = try await gateway.register(userID: 1)
            let first = try await TestSubscriber.connect(url)
            first.send(#"{"topics": ["dogs"]}"#)
            first.send("ping")
            _ = try await first.message(1)
            try await first.close()
            try await eventually("detach") { gateway.gateway.relay.counts.connections == 0 }

            #expect(try await gateway.publish(topic: "dogs", message: "missed") == 0)
            let second = try await TestSubscriber.connect(url)
            #expect(try await gateway.publish(topic: "dogs", message: "woof") == 1)
            #expect(try await gateway.publish(topic: "cats", message: "meow") == 0)
            #expect(try await second.message(1) == "woof")
            try await second.close()
        }
    }

    @Test func secondConnectionReplacesTheFirst() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let url = try await gateway.register(userID: 1)
            let first = try await TestSubscriber.connect(url)
            let second = try await TestSubscriber.connect(url)
            let close = try await first.closeFrame()
            #expect(close?.closeCode == .normalClosure)
            #expect(try await gateway.publish(topic: "cats", message: "meow") == 1)
            #expect(try await second.message(1) == "meow")
            #expect(gateway.gateway.relay.counts.connections == 1)
            try await second.close()
        }
    }

    @Test func badCommandsGetOneErrorFrameAndTheConnectionStays() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let subscriber = try await TestSubscriber.connect(try await gateway.register(userID: 1))
            let bad = [
                "hello", "{", #"{"topics": "cats"}"#, #"{"topics": [1, 2]}"#, #"{"nope": []}"#, "[]",
                #"{"topics": ["a", "b", "c", "d"]}"#, #"{"topics": [""]}"#, #"{"topics": ["waytoolongtopic"]}"#,
            ]
            for text in bad {
                subscriber.send(text)
            }
            subscriber.sendBinary([1, 2, 3])
            subscriber.send("ping")
            let replies = try await subscriber.messages(bad.count + 2)
            for reply in replies.prefix(bad.count + 1) {
                #expect(reply.hasPrefix(#"{"error":"#), "\(reply)")
            }
            #expect(replies.last == "pong")
            // The rejected topic lists changed nothing: still subscribed to the default topic.
            #expect(try await gateway.publish(topic: "cats", message: "meow") == 1)
            try await subscriber.close()
        }
    }

    @Test func topicFloodsAreAbsorbedAndTheLastListWins() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let subscriber = try await TestSubscriber.connect(try await gateway.register(userID: 1))
            for index in 0..<2000 {
                subscriber.send(#"{"topics": ["t\#(index % 50)", "u\#(index % 7)"]}"#)
            }
            subscriber.send(#"{"topics": ["final"]}"#)
            subscriber.send("ping")
            #expect(try await subscriber.message(1, within: .seconds(20)) == "pong")
            #expect(gateway.gateway.relay.topicSubscriberCounts() == ["final": 1])
            #expect(try await gateway.publish(topic: "final", message: "x") == 1)
            try await subscriber.close()
        }
    }

    @Test func closingClientDetaches() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let subscriber = try await TestSubscriber.connect(try await gateway.register(userID: 1))
            #expect(gateway.gateway.relay.counts.connections == 1)
            try await subscriber.close()
            try await eventually("detach") { gateway.gateway.relay.counts.connections == 0 }
            #expect(gateway.gateway.relay.counts.registrations == 1)
            #expect(try await gateway.publish(topic: "cats", message: "meow") == 0)
        }
    }

    @Test func unconnectedRegistrationsExpireAfterTheTTL() async throws {
        let yaml = RunningGateway.seedYAML(relay: "relay: {registration_ttl: 60s}")
        let clock = ManualClock()
        try await RunningGateway.with(yaml: yaml, clock: clock) { gateway in
            let url = try await gateway.register(userID: 1)
            let kept = try await TestSubscriber.connect(try await gateway.register(userID: 2))
            try await eventually("attached, and the sweeper waiting on the clock") {
                gateway.gateway.relay.counts.connections == 1 && clock.pending > 0
            }
            // The sweeper runs every 5 s of the clock: each round before the TTL keeps it.
            try await clock.advance(by: .seconds(60) - .milliseconds(1))
            #expect(gateway.gateway.relay.counts.registrations == 2)
            try await clock.advance(by: .milliseconds(1))
            #expect(gateway.gateway.relay.counts.registrations == 1, "the round at the TTL forgot it")
            let answer = try await HTTP.upgradeAttempt(url.replacingOccurrences(of: "ws://", with: "http://"))
            #expect(answer.status == 404)
            #expect(try await gateway.publish(topic: "cats", message: "still here") == 1)
            try await kept.close()
        }
    }
}
