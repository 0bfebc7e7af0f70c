import Foundation
import Testing

/// The `stats` and `console` handlers, over real HTTP (the browser drives the page in
/// `ConsoleBrowserTests`).
@Suite struct ConsoleTests {
    /// A public listener with the console, an internal one with publish and stats.
    static let yaml = """
        listeners:
          - name: public
            host: 127.0.0.1
            port: 0
            routes:
              - {path: /register, handler: register}
              - {path: "/ws/{client_id}", handler: subscribe}
              - {path: /console, handler: console}
          - name: internal
            host: 127.0.0.1
            port: 0
            routes:
              - {path: /v1/publish, handler: publish}
              - {path: /v1/stats, handler: stats}
              - {path: "/v1/register/{client_id}", handler: unregister}
        """

    struct Stats: Decodable {
        struct TopicCount: Decodable, Equatable {
            let topic: String
            let subscribers: Int
        }

        let connections: Int
        let registrations: Int
        let topic_count: Int
        let topics: [TopicCount]
        let publishes_total: Int
        let deliveries_total: Int
        let uptime_seconds: Double
    }

    @Test func statsFollowTraffic() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let stats: @Sendable () async throws -> Stats = {
                let answer = try await HTTP.get(gateway.url("/v1/stats", listener: "internal"))
                #expect(answer.status == 200)
                #expect(answer.headers["Content-Type"].first == "application/json")
                return try JSONDecoder().decode(Stats.self, from: Data(answer.body.utf8))
            }
            let empty = try await stats()
            #expect(empty.connections == 0 && empty.registrations == 0 && empty.topics.isEmpty && empty.publishes_total == 0)

            let cats = try await TestSubscriber.connect(try await gateway.register(userID: 1, listener: "public"))
            let dogs = try await TestSubscriber.connect(try await gateway.register(userID: 2, listener: "public"))
            let both = try await TestSubscriber.connect(try await gateway.register(userID: 3, listener: "public"))
            dogs.send(#"{"topics": ["dogs"]}"#)
            both.send(#"{"topics": ["dogs", "cats"]}"#)
            try await eventually("topics applied") {
                let now = try await stats()
                return now.topics.first?.subscribers == 2 && now.topic_count == 2
            }
            for _ in 0..<2 {
                _ = try await HTTP.post(gateway.url("/v1/publish", listener: "internal"), #"{"topic": "cats", "message": "m"}"#)
            }
            _ = try await cats.messages(2)
            let busy = try await stats()
            #expect(busy.connections == 3 && busy.registrations == 3)
            #expect(busy.topics == [.init(topic: "cats", subscribers: 2), .init(topic: "dogs", subscribers: 2)])
            #expect(busy.publishes_total == 2 && busy.deliveries_total == 4)
            #expect(busy.uptime_seconds > 0 && busy.uptime_seconds >= empty.uptime_seconds)
            _ = (dogs, both)
        }
    }

    @Test func consolePageLinksTheOtherRoutes() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let answer = try await HTTP.get(gateway.url("/console", listener: "public"))
            #expect(answer.status == 200)
            #expect(answer.headers["Content-Type"].first == "text/html; charset=utf-8")
            #expect(answer.headers["Content-Security-Policy"].first?.contains("frame-ancestors 'none'") == true)
            #expect(answer.headers["X-Content-Type-Options"].first == "nosniff")
            #expect(!answer.body.contains("/*RELAY_CONSOLE_CONFIG*/"))
            let internalOrigin = "http:\\/\\/127.0.0.1:\(gateway.ports["internal"]!)"
            let expected =
                #"{"publish":"\#(internalOrigin)\/v1\/publish","register":"\/register","stats":"\#(internalOrigin)\/v1\/stats","#
                + #""unregister":"\#(internalOrigin)\/v1\/register\/{client_id}"}"#
            #expect(answer.body.contains(expected), "the page should carry \(expected)")
            #expect(try await HTTP.get(gateway.url("/console", listener: "internal")).status == 404)
        }
    }

    @Test func consoleAndStatsAreOffUnlessRouted() async throws {
        try await RunningGateway.with(yaml: RunningGateway.seedYAML()) { gateway in
            let console = try await HTTP.get(gateway.url("/console"))
            let stats = try await HTTP.get(gateway.url("/stats"))
            #expect(console.status == 404 && stats.status == 404)
        }
    }

    @Test func shippedConsoleConfigChecks() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let yaml = try String(contentsOf: root.appendingPathComponent("examples/console.yaml"), encoding: .utf8)
        try await RunningGateway.with(yaml: yaml, environment: ["RELAY_PORT": "0"]) { gateway in
            let page = try await HTTP.get(gateway.url("/console"))
            #expect(page.body.contains(#""stats":"\/stats""#))
        }
    }
}
