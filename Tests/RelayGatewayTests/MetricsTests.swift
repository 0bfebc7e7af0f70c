import Testing

/// The `metrics` handler: Prometheus text with the relay's counters, updated by real traffic.
@Suite struct MetricsTests {
    static let yaml = """
        tokens: {publisher: "${PUB}"}
        filters:
          backends: {type: auth, tokens: [publisher]}
          limit: {type: rate_limit, rate: 1/m, burst: 1, key: ip}
        listeners:
          - name: public
            host: 127.0.0.1
            port: 0
            routes:
              - {path: /register, handler: register, filters: [limit]}
              - {path: "/ws/{client_id}", handler: subscribe}
              - {path: "/register/{client_id}", handler: unregister}
              - {path: /publish, handler: publish, filters: [backends]}
              - {path: /metrics, handler: metrics}
        """

    /// The value of one sample line, e.g. `relay_publishes_total 3`.
    static func value(_ name: String, in text: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }

    @Test func countersFollowTraffic() async throws {
        try await RunningGateway.with(yaml: Self.yaml, environment: ["PUB": "secret"]) { gateway in
            let url = try await gateway.register(userID: 1)
            #expect(try await HTTP.post(gateway.url("/register"), #"{"user_id": 2}"#).status == 429)
            let subscriber = try await TestSubscriber.connect(url)
            for index in 0..<3 {
                _ = try await gateway.publish(topic: "cats", message: "m\(index)", headers: [("Authorization", "Bearer secret")])
            }
            _ = try await subscriber.messages(3)
            #expect(try await HTTP.post(gateway.url("/publish"), #"{"topic": "cats", "message": "x"}"#).status == 401)

            let live = try await HTTP.get(gateway.url("/metrics"))
            #expect(live.status == 200)
            #expect(live.headers["Content-Type"].first?.hasPrefix("text/plain") == true)
            #expect(Self.value("relay_connections", in: live.body) == 1)
            #expect(Self.value("relay_registrations", in: live.body) == 1)
            #expect(Self.value("relay_publishes_total", in: live.body) == 3)
            #expect(Self.value("relay_deliveries_total", in: live.body) == 3)
            #expect(Self.value("relay_connections_opened_total", in: live.body) == 1)
            #expect(Self.value("relay_rate_limited_total", in: live.body) == 1)
            #expect(Self.value("relay_auth_failures_total", in: live.body) == 1)
            let enqueueCounts = live.body.split(separator: "\n").filter { $0.hasPrefix("relay_publish_enqueue_seconds_count{") }
            #expect(enqueueCounts.compactMap { Double($0.split(separator: " ").last!) }.reduce(0, +) == 3)

            let id = url.split(separator: "/").last!
            #expect(try await HTTP.delete(gateway.url("/register/\(id)")).status == 200)
            _ = try await subscriber.closeFrame()
            try await eventually("close counted") {
                let text = try await HTTP.get(gateway.url("/metrics")).body
                return Self.value(#"relay_connections_closed_total{reason="unregistered"}"#, in: text) == 1
            }
            let after = try await HTTP.get(gateway.url("/metrics")).body
            #expect(Self.value("relay_connections", in: after) == 0)
            #expect(Self.value("relay_registrations", in: after) == 0)
        }
    }
}
