import Foundation
import HTTPTypes
import Testing

/// `log`: one line per request with its fields, WebSocket close lines, JSON format, no secrets.
@Suite struct LogFilterTests {
    static func yaml(format: String) -> String {
        """
        tokens: {publisher: "${PUB}"}
        filters:
          access_log: {type: log, format: \(format)}
          backends: {type: auth, tokens: [publisher]}
          subscribers: {type: auth, tokens: [publisher]}
        \(RunningGateway.seedYAML(listenerFilters: "[access_log]", routeFilters: ["publish": "[backends]", "subscribe": "[subscribers]"]))
        """
    }

    static let secret = "very-secret-token-value"

    @Test func textLinesCarryTheFieldsAndNeverASecretOrAFullID() async throws {
        let capture = LogCapture()
        try await RunningGateway.with(yaml: Self.yaml(format: "text"), environment: ["PUB": Self.secret], logHandler: capture.handler) {
            gateway in
            let url = try await gateway.register(userID: 1)
            let id = String(url.split(separator: "/").last!)
            let subscriber = try await TestSubscriber.connect(url + "?token=\(Self.secret)")
            _ = try await gateway.publish(topic: "cats", message: "hi", headers: [("Authorization", "Bearer \(Self.secret)")])
            _ = try await subscriber.message(1)
            _ = try await HTTP.post(gateway.url("/publish"), "{}", headers: [("Authorization", "Bearer wrong-\(Self.secret)")])
            try await subscriber.close()
            try await eventually("close line") { capture.all.contains { $0.contains("WS /ws/") } }

            let lines = capture.all
            let register = try #require(lines.first { $0.contains("POST /register") })
            #expect(register.range(of: #"POST /register 200 \d+\.\d\dms peer=127\.0\.0\.1"#, options: .regularExpression) != nil, "\(register)")
            #expect(lines.contains { $0.contains("GET /ws/\(id.prefix(8))… 101") })
            #expect(lines.contains { $0.contains("POST /publish 200") })
            #expect(lines.contains { $0.contains("POST /publish 401") })
            let close = try #require(lines.first { $0.contains("WS /ws/") })
            #expect(
                close.range(of: #"WS /ws/[0-9a-f]{8}… closed \d+\.\d\dms peer=127\.0\.0\.1 sent=1 dropped=0"#, options: .regularExpression) != nil,
                "\(close)")

            let everything = lines.joined(separator: "\n")
            #expect(!everything.contains(Self.secret))
            // Nor its bytes, as a dump of the services (logged at debug when they start) would show them.
            #expect(!everything.contains(Array(Self.secret.utf8).map(String.init).joined(separator: ", ")))
            #expect(!everything.contains(id))
            #expect(!everything.contains("token="))
        }
    }

    /// An event stream is a subscriber connection like a WebSocket: its end writes a close line too.
    @Test func anEventStreamsEndWritesItsCloseLine() async throws {
        let capture = LogCapture()
        try await RunningGateway.with(yaml: Self.yaml(format: "text"), environment: ["PUB": Self.secret], logHandler: capture.handler) {
            gateway in
            let url = try await gateway.register(userID: 1)
            let id = String(url.split(separator: "/").last!)
            let stream = try await EventStreamClient(port: gateway.port, path: "/events/\(id)")
            #expect(stream.status == 200)
            _ = try await gateway.publish(topic: "cats", message: "hi", headers: [("Authorization", "Bearer \(Self.secret)")])
            #expect(await stream.read(until: "data: hi"))
            stream.socket.shutdownBoth()
            try await eventually("close line") { capture.all.contains { $0.contains("closed") } }
            let close = try #require(capture.all.first { $0.contains("closed") })
            #expect(
                close.range(of: #"GET /events/[0-9a-f]{8}… closed \d+\.\d\dms peer=127\.0\.0\.1 sent=1 dropped=0"#, options: .regularExpression)
                    != nil,
                "\(close)")
        }
    }

    @Test func jsonFormatIsOneObjectPerLine() async throws {
        let capture = LogCapture()
        try await RunningGateway.with(yaml: Self.yaml(format: "json"), environment: ["PUB": Self.secret], logHandler: capture.handler) {
            gateway in
            _ = try await HTTP.get(gateway.url("/health"))
            try await eventually("log line") { capture.all.contains { $0.contains("filter=access_log") && $0.contains("/health") } }
            let line = try #require(capture.all.first { $0.contains("filter=access_log") && $0.contains("/health") })
            let json = try #require(line.firstIndex(of: "{").map { String(line[$0...]) })
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            #expect(object["method"] as? String == "GET")
            #expect(object["path"] as? String == "/health")
            #expect(object["status"] as? Int == 200)
            #expect(object["peer"] as? String == "127.0.0.1")
            #expect(object["duration_ms"] is Double)
        }
    }
}
