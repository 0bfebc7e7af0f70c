import Testing
import WSClient

/// The classic warp tutorial's walkthrough against the seed routes: register, connect, set
/// topics, publish, unregister.
@Suite struct SeedWalkthroughTests {
    static let yaml = RunningGateway.seedYAML()

    @Test func healthAnswersOK() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let answer = try await HTTP.get(gateway.url("/health"))
            #expect(answer.status == 200)
            #expect(answer.json?["status"] as? String == "ok")
        }
    }

    @Test func registerAnswersAWebSocketURLWithA32HexID() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let url = try await gateway.register(userID: 1)
            let prefix = "ws://127.0.0.1:\(gateway.port)/ws/"
            #expect(url.hasPrefix(prefix))
            let id = url.dropFirst(prefix.count)
            #expect(id.count == 32)
            #expect(id.allSatisfy { $0.isHexDigit && !$0.isUppercase })
            #expect(try await gateway.register(userID: 1) != url)
        }
    }

    @Test func wholeWalkthrough() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let url = try await gateway.register(userID: 1)
            let subscriber = try await TestSubscriber.connect(url)

            subscriber.send("ping")
            #expect(try await subscriber.message(1) == "pong")

            // Default topic is cats.
            #expect(try await gateway.publish(topic: "cats", message: "meow") == 1)
            #expect(try await subscriber.message(2) == "meow")

            subscriber.send(#"{"topics": ["cats", "dogs"]}"#)
            subscriber.send("ping")
            #expect(try await subscriber.message(3) == "pong")
            #expect(try await gateway.publish(topic: "dogs", message: "woof", userID: 1) == 1)
            #expect(try await subscriber.message(4) == "woof")
            #expect(try await gateway.publish(topic: "birds", message: "tweet") == 0)

            let id = url.split(separator: "/").last!
            let unregister = try await HTTP.delete(gateway.url("/register/\(id)"))
            #expect(unregister.status == 200)
            let close = try await subscriber.closeFrame()
            #expect(close?.closeCode == .normalClosure)
            #expect(try await gateway.publish(topic: "cats", message: "gone") == 0)
            #expect(try await HTTP.delete(gateway.url("/register/\(id)")).status == 404)
        }
    }

    @Test func websocatStylePingWithNewlineGetsPong() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let subscriber = try await TestSubscriber.connect(try await gateway.register(userID: 7))
            subscriber.send("ping\n")
            subscriber.send("{ \"topics\": [\"dogs\"] }\n")
            subscriber.send("ping\n")
            #expect(try await subscriber.messages(2) == ["pong", "pong"])
            #expect(try await gateway.publish(topic: "dogs", message: "woof") == 1)
            #expect(try await gateway.publish(topic: "cats", message: "meow") == 0)
            #expect(try await subscriber.message(3) == "woof")
            try await subscriber.close()
        }
    }
}
