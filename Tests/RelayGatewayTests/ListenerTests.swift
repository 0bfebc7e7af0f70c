import Testing

/// Route tables from config: several listeners sharing one relay, public URLs, 404 and 405.
@Suite struct ListenerTests {
    static let twoListeners = """
        listeners:
          - name: public
            host: 127.0.0.1
            port: 0
            public_url: wss://relay.example.com/
            routes:
              - {path: /v1/register, handler: register}
              - {path: "/v1/stream/{client_id}", handler: subscribe}
          - name: internal
            host: 127.0.0.1
            port: 0
            routes:
              - {path: /publish, handler: publish}
              - {path: /healthz, handler: health}
              - {path: "/register/{client_id}", handler: unregister}
        """

    @Test func twoListenersShareOneRelay() async throws {
        try await RunningGateway.with(yaml: Self.twoListeners) { gateway in
            let answer = try await HTTP.post(gateway.url("/v1/register", listener: "public"), #"{"user_id": 4}"#)
            let url = try #require(answer.json?["url"] as? String)
            #expect(url.hasPrefix("wss://relay.example.com/v1/stream/"))

            let id = url.split(separator: "/").last!
            let local = "ws://127.0.0.1:\(gateway.ports["public"]!)/v1/stream/\(id)"
            let subscriber = try await TestSubscriber.connect(local)
            let publish = try await HTTP.post(gateway.url("/publish", listener: "internal"), #"{"topic": "cats", "message": "hi"}"#)
            #expect(publish.json?["recipients"] as? Int == 1)
            #expect(try await subscriber.message(1) == "hi")

            // Routes exist only on the listener that declares them.
            #expect(try await HTTP.post(gateway.url("/publish", listener: "public"), #"{"topic": "cats", "message": "x"}"#).status == 404)
            #expect(try await HTTP.get(gateway.url("/healthz", listener: "public")).status == 404)
            let health = try await HTTP.get(gateway.url("/healthz", listener: "internal"))
            #expect(health.json?["connections"] as? Int == 1)

            #expect(try await HTTP.delete(gateway.url("/register/\(id)", listener: "internal")).status == 200)
            #expect(try await subscriber.closeFrame()?.closeCode == .normalClosure)
        }
    }

    @Test func registerURLUsesTheBoundPortWithoutPublicURL() async throws {
        try await RunningGateway.with(yaml: RunningGateway.seedYAML()) { gateway in
            let url = try await gateway.register(userID: 1)
            #expect(url.hasPrefix("ws://127.0.0.1:\(gateway.port)/ws/"))
        }
    }

    @Test func unknownPathIs404AndWrongMethodIs405WithAllow() async throws {
        try await RunningGateway.with(yaml: RunningGateway.seedYAML()) { gateway in
            let missing = try await HTTP.get(gateway.url("/nope"))
            #expect(missing.status == 404)
            #expect(missing.error == "not found")

            let wrong = try await HTTP.get(gateway.url("/publish"))
            #expect(wrong.status == 405)
            #expect(wrong.headers["Allow"].first == "POST")
            #expect(wrong.error != nil)
        }
    }
}
