import Foundation
import RelayGateway
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

    /// A plugin's metrics of each kind, made by a service as it starts.
    static let meter = ServicePlugin(name: "meter") { environment in
        try environment.metrics.makeCounter(name: "meter_jobs_total", help: "Jobs done", labels: [("queue", "mail")]).increment()
        try environment.metrics.makeGauge(name: "meter_queue_depth", help: "Jobs waiting").set(Int64(3))
        try environment.metrics.makeDurationHistogram(name: "meter_job_seconds", help: "Time a job took", buckets: [.milliseconds(1), .seconds(1)])
            .record(.milliseconds(2))
    }

    /// Every metric family, the gateway's and a plugin's, has its `# HELP` and `# TYPE`, and
    /// Prometheus' own checker (`promtool check metrics`) finds nothing to say about the exposition.
    @Test func promtoolAcceptsEveryMetricWithItsHelpAndType() async throws {
        let promtool = try Prerequisite.program("promtool", install: "apt-get install prometheus")
        let plugins = try Plugins.builtIn.adding(services: [Self.meter])
        try await RunningGateway.with(yaml: Self.yaml, environment: ["PUB": "secret"], plugins: plugins) { gateway in
            // Traffic that makes every series: a delivery, a close, a refusal of each filter.
            let url = try await gateway.register(userID: 1)
            #expect(try await HTTP.post(gateway.url("/register"), #"{"user_id": 2}"#).status == 429)
            let subscriber = try await TestSubscriber.connect(url)
            _ = try await gateway.publish(topic: "cats", message: "m", headers: [("Authorization", "Bearer secret")])
            _ = try await subscriber.messages(1)
            #expect(try await HTTP.post(gateway.url("/publish"), #"{"topic": "cats", "message": "x"}"#).status == 401)
            try await eventually("the plugin's metrics") { try await HTTP.get(gateway.url("/metrics")).body.contains("meter_job_seconds_count") }
            let text = try await HTTP.get(gateway.url("/metrics")).body

            let lines = text.split(separator: "\n")
            func names(_ prefix: String) -> Set<Substring> {
                Set(lines.filter { $0.hasPrefix(prefix) }.map { $0.split(separator: " ")[2] })
            }
            let described = names("# HELP ")
            let typed = names("# TYPE ")
            #expect(typed.count >= 16 && typed.isSuperset(of: ["meter_jobs_total", "meter_queue_depth", "meter_job_seconds"]), "\(typed)")
            #expect(described == typed, "no # HELP for \(typed.subtracting(described).sorted())")

            let file = FileManager.default.temporaryDirectory.appendingPathComponent("relay-metrics-\(UUID().uuidString).txt")
            try text.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let check = try await Program.run(URL(fileURLWithPath: "/bin/sh"), ["-c", "\"$0\" check metrics < \"$1\"", promtool.path, file.path])
            #expect(check.status == 0 && check.stdout.isEmpty && check.stderr.isEmpty, "promtool: \(check.stdout)\(check.stderr)")
        }
    }

    /// A plugin metric without help text would be exposed without `# HELP`: refused when it is made.
    @Test func aPluginMetricWithoutHelpIsRefused() throws {
        let metrics = RelayMetrics()
        #expect(throws: PluginMetricError.self) { try metrics.makeCounter(name: "meter_silent_total", help: " ") }
        #expect(throws: Never.self) { try metrics.makeCounter(name: "meter_silent_total", help: "Now described") }
    }
}
