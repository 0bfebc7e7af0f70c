import Foundation
import RelayCore
import Testing

/// The `relay-gateway` binary: `check`, config errors at start-up, and a clean stop on SIGTERM.
@Suite(.timed) struct CLITests {
    private func writeConfig(_ yaml: String) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("relay-\(UUID().uuidString).yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    @Test func checkPrintsTheRouteTableOfTheDefaultConfig() async throws {
        let result = try await Program.run(Program.gateway, ["check", "--config", "config/relay.yaml"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("listener public on 127.0.0.1:8000"))
        #expect(result.stdout.contains("filters: access_log (log), cors (cors)"))
        for line in ["GET     /health", "POST    /register", "DELETE  /register/{client_id}", "POST    /publish", "GET     /ws/{client_id}"] {
            #expect(result.stdout.contains(line), "missing \(line)")
        }
    }

    @Test(arguments: [
        (
            "listeners:\n  - port: 0\n    routes:\n      - {path: /x, handler: nope}\n",
            #":4: listeners[0].routes[0].handler: unknown handler "nope" (known: console, events, health, metrics, publish, register, "#
                + #"stats, subscribe, unregister)"#
        ),
        (
            "filters:\n  a: {type: gzip}\nlisteners:\n  - port: 0\n    routes: [{path: /h, handler: health}]\n",
            #":2: filters.a.type: unknown filter type "gzip""#
        ),
        (
            "listeners:\n  - port: 0\n    filters: [missing]\n    routes: [{path: /h, handler: health}]\n",
            #"listeners[0].filters[0]: undeclared filter "missing""#
        ),
        (
            "listeners:\n  - port: ${NO_SUCH_RELAY_PORT}\n    routes: [{path: /h, handler: health}]\n",
            ":2: listeners[0].port: environment variable NO_SUCH_RELAY_PORT is not set"
        ),
        (
            "listeners:\n  - port: [1\n",
            ":"
        ),
        (
            "filters:\n  r: {type: rate_limit, rate: fast}\nlisteners:\n  - port: 0\n    routes: [{path: /h, handler: health}]\n",
            ":2: filters.r.rate: rate must look like 20/s"
        ),
        (
            "listeners:\n  - port: 0\n    routes:\n      - {path: /register, handler: register}\n",
            #"handler "register" hands out subscribe URLs, but no listener has a "subscribe" route"#
        ),
    ])
    func configErrorsStopBeforeServingWithOneClearLine(yaml: String, expected: String) async throws {
        let path = try self.writeConfig(yaml)
        defer { try? FileManager.default.removeItem(atPath: path) }
        for command in ["check", "serve"] {
            let result = try await Program.run(Program.gateway, [command, "--config", path], limit: .seconds(10))
            #expect(result.status != 0)
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(result.stderr)")
            #expect(result.stderr.hasPrefix("relay-gateway: config error: \(path)"), "\(result.stderr)")
            #expect(result.stderr.contains(expected), "\(result.stderr)")
            #expect(!result.stderr.contains("Fatal error"))
            #expect(!result.stdout.contains("listening"))
        }
    }

    @Test func missingConfigFileIsAClearError() async throws {
        let result = try await Program.run(Program.gateway, ["serve", "--config", "/nonexistent/relay.yaml"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("/nonexistent/relay.yaml: cannot read config file"))
    }

    @Test func tokenSecretsNeverAppearInCheckOutput() async throws {
        let yaml = """
            tokens: {publisher: "${SECRET_FOR_TEST}"}
            filters: {publishers: {type: auth, tokens: [publisher]}}
            listeners:
              - port: 0
                routes: [{path: /publish, handler: publish, filters: [publishers]}]
            """
        let path = try self.writeConfig(yaml)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try await Program.run(Program.gateway, ["check", "--config", path], environment: ["SECRET_FOR_TEST": "s3cr3t-value-42"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("publishers (auth)"))
        #expect(!(result.stdout + result.stderr).contains("s3cr3t-value-42"))
    }

    @Test func sigtermClosesWebSocketsWith1001AndExitsZero() async throws {
        let running = try Running(Program.gateway, ["serve", "--config", "config/relay.yaml"], environment: ["RELAY_PORT": "0"])
        let port = try await running.awaitListening()
        let answer = try await HTTP.post("http://127.0.0.1:\(port)/register", #"{"user_id": 1}"#)
        let url = try #require(answer.json?["url"] as? String)
        let subscriber = try await TestSubscriber.connect(url)
        subscriber.send("ping")
        #expect(try await subscriber.message(1) == "pong")

        running.signal(SIGTERM)
        let close = try await subscriber.closeFrame(within: .seconds(10))
        #expect(close?.closeCode == .goingAway)
        let result = try await running.finish(within: .seconds(15))
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test func requestsArrivingDuringShutdownGet503() async throws {
        let running = try Running(Program.gateway, ["serve", "--config", "config/relay.yaml"], environment: ["RELAY_PORT": "0"])
        let port = try await running.awaitListening()
        // A client in the middle of sending its request when the signal comes.
        let client = try RawSocket(port: port)
        client.send("GET /health HTTP/1.1\r\nHost: x\r\n")
        // Fixed sleep: the server is another process, and nothing it shows says it has read the
        // half-sent head; the signal must come after it did.
        try await Task.sleep(for: .milliseconds(200))
        running.signal(SIGTERM)
        // Draining has begun once the listener accepts no new connection.
        try await eventually("the listener stopped accepting", within: .seconds(10)) { (try? RawSocket(port: port)) == nil }
        client.send("\r\n")
        let answer = String(decoding: await client.receive(timeout: .seconds(5), until: "}"), as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 503"), "\(answer)")
        #expect(answer.contains(#"{"error":"server shutting down"}"#))
        let result = try await running.finish(within: .seconds(15))
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test func registrationsThatNeverExpireStillServe() async throws {
        let yaml = "relay: {registration_ttl: 0}\n" + RunningGateway.seedYAML()
        let clock = ManualClock()
        try await RunningGateway.with(yaml: yaml, clock: clock) { gateway in
            _ = try await gateway.register(userID: 1)
            try await eventually("the sweeper waiting on the clock") { clock.pending > 0 }
            // Three of the sweeper's rounds (every 5 s without a TTL) keep everything.
            try await clock.advance(by: .seconds(15))
            #expect(gateway.gateway.relay.counts.registrations == 1)
            #expect(try await HTTP.get(gateway.url("/health")).status == 200)
        }
    }

    @Test func serveStopsCleanlyOnSIGTERM() async throws {
        let running = try Running(Program.gateway, ["serve", "--config", "config/relay.yaml"], environment: ["RELAY_PORT": "0"])
        _ = try await running.awaitListening()
        running.signal(SIGTERM)
        let result = try await running.finish(within: .seconds(10))
        #expect(result.status == 0, "\(result.stderr)")
    }
}
