import Foundation
import RelayConfig
import RelayGateway
import Synchronization
import Testing

/// Live config reload: `relay-gateway reload` (SIGHUP through the pid file) against the real
/// process while messages flow, and the reloader's rules (what is kept, what is refused) on a
/// gateway in this process.
@Suite(.timed) struct ConfigReloadTests {
    /// Two configs a reload alternates between: B rotates a token the publisher does not use,
    /// puts CORS on the listener and adds a route; the publisher's token and the rate limit stay
    /// (the limit is high: it is there to be kept, not to refuse).
    static func config(_ variant: String) -> String {
        let b = variant == "B"
        return """
            tokens: {publisher: "pub-secret", app: "\(b ? "app-two" : "app-one")"}
            filters:
              publishers: {type: auth, tokens: [publisher]}
              apps: {type: auth, tokens: [app]}
              limit: {type: rate_limit, rate: 100000/s, burst: 100000, key: ip}
            \(b ? "  cors: {type: cors, allow_origins: [\"*\"]}" : "")
            listeners:
              - name: main
                host: 127.0.0.1
                port: 0
                filters: [limit\(b ? ", cors" : "")]
                routes:
                  - {path: /health, handler: health}
                  - {path: /register, handler: register}
                  - {path: /publish, handler: publish, filters: [publishers]}
                  - {path: "/ws/{client_id}", handler: subscribe}
                  - {path: /admin/stats, handler: stats, filters: [apps]}
            \(b ? "      - {path: /metrics, handler: metrics}" : "")
            """
    }

    /// The real binary serving `yaml` from a file of its own, with a pid file for `reload`.
    struct Served {
        let server: Running
        let directory: URL
        /// The config file it serves, and its pid file.
        let live: String
        let pidFile: String
        let base: String

        init(_ yaml: String) async throws {
            self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("relay-reload-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
            self.live = self.directory.appendingPathComponent("relay.yaml").path
            self.pidFile = self.directory.appendingPathComponent("relay.pid").path
            try yaml.write(toFile: self.live, atomically: true, encoding: .utf8)
            self.server = try Running(Program.gateway, ["serve", "--config", self.live, "--pid-file", self.pidFile])
            self.base = "http://127.0.0.1:\(try await self.server.awaitListening())"
        }
    }

    @Test(.timeLimit(.minutes(2))) func twentyReloadsWhilePublishingLoseNothingAndDropNobody() async throws {
        let served = try await Served(Self.config("A"))
        let (server, directory, live, pidFile, base) = (served.server, served.directory, served.live, served.pidFile, served.base)
        defer { server.signal(SIGTERM) }

        var subscribers: [TestSubscriber] = []
        for user in 1...3 {
            let answer = try await HTTP.post("\(base)/register", #"{"user_id": \#(user)}"#)
            let subscriber = try await TestSubscriber.connect(try #require(answer.json?["url"] as? String))
            subscriber.send("ping")
            #expect(try await subscriber.message(1) == "pong")
            subscribers.append(subscriber)
        }

        // A steady stream of publishes, each one's answer checked: a reset or any status but 200 fails.
        let stop = Atomic<Bool>(false)
        let first = subscribers[0]
        let publisher = Task { () -> (published: Int, failures: [String]) in
            var published = 0
            var failures: [String] = []
            while !stop.load(ordering: .relaxed) {
                // Paced by delivery: at most 50 messages ahead of what the first subscriber got (after its pong).
                let sent = published
                try? await eventually("the first subscriber keeps up", within: .seconds(20)) {
                    stop.load(ordering: .relaxed) || sent - (first.received.count - 1) < 50
                }
                let body = #"{"topic": "cats", "message": "m-\#(published + 1)"}"#
                do {
                    let answer = try await HTTP.post("\(base)/publish", body, headers: [("Authorization", "Bearer pub-secret")])
                    if answer.status == 200 { published += 1 } else { failures.append("\(answer.status) \(answer.body)") }
                } catch {
                    failures.append("\(error)")
                }
            }
            return (published, failures)
        }

        for round in 1...20 {
            try Self.config(round % 2 == 1 ? "B" : "A").write(toFile: live, atomically: true, encoding: .utf8)
            let reload = try await Program.run(Program.gateway, ["reload", "--pid-file", pidFile])
            #expect(reload.status == 0, "reload \(round): \(reload.stderr)")
            #expect(reload.stdout.hasPrefix("config reloaded\nlistener main: "), "reload \(round): \(reload.stdout)")
            #expect(reload.stdout.contains("filters kept with their state: limit\n"), "the rate limiter's buckets stay: \(reload.stdout)")
            let metrics = try await HTTP.get("\(base)/metrics")
            #expect(metrics.status == (round % 2 == 1 ? 200 : 404), "reload \(round): B serves /metrics, A does not")
        }
        stop.store(true, ordering: .relaxed)
        let (published, failures) = await publisher.value
        #expect(failures.isEmpty, "every publish answered 200 across the reloads: \(failures.prefix(5))")
        #expect(published > 20, "publishes ran throughout: \(published)")

        // Each subscriber got its pong, then every message once, in order, and nothing else: a
        // last message marks the end (anything repeated or extra would come before it).
        #expect(
            try await HTTP.post("\(base)/publish", #"{"topic": "cats", "message": "end"}"#, headers: [("Authorization", "Bearer pub-secret")]).status
                == 200)
        let expected = ["pong"] + (1...published).map { "m-\($0)" } + ["end"]
        for (index, subscriber) in subscribers.enumerated() {
            try await eventually("subscriber \(index + 1) got the end", within: .seconds(20)) { subscriber.received.last == "end" }
            #expect(subscriber.received == expected, "subscriber \(index + 1): \(subscriber.received.count) messages for \(expected.count)")
        }
        // The last config (after 20 reloads: A) is what serves; B's route is gone again.
        let metrics = try await HTTP.get("\(base)/metrics")
        #expect(metrics.status == 404)
        let health = try await HTTP.get("\(base)/health")
        #expect(health.json?["connections"] as? Int == 3, "the subscribers stayed connected: \(health.body)")

        // A broken file: refused, said on stderr and in the log as file:line: key.path: message.
        try Self.config("A").replacingOccurrences(of: "handler: health", with: "handler: healthz").write(
            toFile: live, atomically: true, encoding: .utf8)
        let refused = try await Program.run(Program.gateway, ["reload", "--pid-file", pidFile])
        #expect(refused.status == 1)
        let error = #"\#(live):13: listeners[0].routes[0].handler: unknown handler "healthz""#
        #expect(refused.stderr.hasPrefix("relay-gateway: reload refused, the running config stays: \(error)"), "\(refused.stderr)")
        #expect(server.stdout.contains("config reload refused, the running config stays: \(error)"))
        let notices = server.stdout.split(separator: "\n").filter { $0.contains("notice") && $0.contains("config reloaded") }
        #expect(notices.count == 20, "one log line per reload: \(server.stdout)")
        #expect(try await HTTP.get("\(base)/health").status == 200, "the old config still serves")
        let missing = try await Program.run(Program.gateway, ["reload", "--pid-file", directory.appendingPathComponent("none.pid").path])
        #expect(missing.status == 2 && missing.stderr.contains("is `relay-gateway serve --pid-file"), "\(missing.stderr)")
    }

    /// A SIGHUP whose file is not even YAML is refused like any other bad config, and counted:
    /// `relay_config_reloads_total{result="failure"}` goes up, the success timestamp stays.
    @Test func aReloadOfAFileThatDoesNotParseIsCountedAsAFailure() async throws {
        let served = try await Served(Self.config("B"))
        defer { served.server.signal(SIGTERM) }
        let (live, pidFile, metrics) = (served.live, served.pidFile, served.base + "/metrics")
        let failures = #"relay_config_reloads_total{result="failure"}"#
        #expect(MetricsTests.value(failures, in: try await HTTP.get(metrics).body) == 0)

        try "listeners: [{name: main, port: 0\n".write(toFile: live, atomically: true, encoding: .utf8)
        let refused = try await Program.run(Program.gateway, ["reload", "--pid-file", pidFile])
        #expect(refused.status == 1, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("reload refused, the running config stays: \(live):"), "\(refused.stderr)")
        let after = try await HTTP.get(metrics).body
        #expect(MetricsTests.value(failures, in: after) == 1, "\(after)")
        #expect(MetricsTests.value(#"relay_config_reloads_total{result="success"}"#, in: after) == 0)
    }

    @Test func aRefusedReloadChangesNothingAndSaysWhy() async throws {
        try await RunningGateway.with(yaml: Self.config("A")) { gateway in
            let broken: [(String, String)] = [
                (
                    Self.config("A").replacingOccurrences(of: "type: rate_limit", with: "type: rate_limiter"),
                    #"test.yaml:5: filters.limit.type: unknown filter type "rate_limiter""#
                ),
                (
                    Self.config("A").replacingOccurrences(
                        of: "port: 0", with: "port: 0\n    tls: {certificate: /nonexistent.pem, key: /nonexistent.key}"),
                    "test.yaml:11: listeners[0].tls.certificate: cannot read /nonexistent.pem: No such file or directory"
                ),
                (
                    "relay: {history: {size: 10}}\n" + Self.config("A"),
                    "test.yaml: relay.history: history settings cannot change on a reload: restart the gateway"
                ),
                (
                    "relay: {idempotency_window: 5m}\n" + Self.config("A"),
                    "test.yaml: relay.idempotency_window: idempotency settings cannot change on a reload: restart the gateway"
                ),
                (
                    Self.config("A").replacingOccurrences(of: "port: 0", with: "port: \(gateway.port)").replacingOccurrences(
                        of: "name: main", with: "name: other"),
                    "test.yaml:8: listeners[0]: cannot listen on 127.0.0.1:\(gateway.port): "
                ),
            ]
            for (yaml, expected) in broken {
                let config = try ConfigLoader.parse(yaml: yaml, file: "test.yaml", environment: [:])
                let error = await #expect(throws: ConfigError.self) { try await gateway.gateway.reloader.reload(to: config) }
                #expect(error?.description.hasPrefix(expected) == true, "\(String(describing: error))")
            }
            // Still config A: the stats route with app-one's token.
            let stats = try await HTTP.get(gateway.url("/admin/stats"), headers: [("Authorization", "Bearer app-one")])
            #expect(stats.status == 200, "\(stats.body)")
            let metrics = try await HTTP.get(gateway.url("/health"))
            #expect(metrics.status == 200)
        }
    }

    @Test func tokensRotateWhileRateLimitBucketsAndWebSocketsStay() async throws {
        let yaml = Self.config("A").replacingOccurrences(of: "rate: 100000/s, burst: 100000", with: "rate: 1/h, burst: 3")
        try await RunningGateway.with(yaml: yaml) { gateway in
            let url = try await gateway.register(userID: 1)
            let subscriber = try await TestSubscriber.connect(url)
            subscriber.send("ping")
            #expect(try await subscriber.message(1) == "pong")
            // Register and connect took 2 of the 3; this takes the last.
            #expect(try await HTTP.get(gateway.url("/admin/stats"), headers: [("Authorization", "Bearer app-one")]).status == 200)
            #expect(try await HTTP.get(gateway.url("/health")).status == 429)

            let rotated = yaml.replacingOccurrences(of: "app-one", with: "app-two")
            let summary = try await gateway.gateway.reloader.reload(to: try ConfigLoader.parse(yaml: rotated, file: "test.yaml", environment: [:]))
            // A token changed: the filters that read tokens are built anew, the others kept.
            #expect(summary.lines.contains("filters built anew: apps, publishers"), "\(summary)")
            #expect(summary.lines.contains("filters kept with their state: limit"), "\(summary)")
            #expect(try await HTTP.get(gateway.url("/health")).status == 429, "the bucket is the same one")

            subscriber.send("ping")
            #expect(try await subscriber.message(1) == "pong", "the WebSocket stayed open")
        }
        // A rate_limit whose options change starts with fresh buckets.
        try await RunningGateway.with(yaml: yaml) { gateway in
            for _ in 1...3 { _ = try await HTTP.get(gateway.url("/health")) }
            #expect(try await HTTP.get(gateway.url("/health")).status == 429)
            let changed = yaml.replacingOccurrences(of: "burst: 3", with: "burst: 4")
            try await gateway.gateway.reloader.reload(to: try ConfigLoader.parse(yaml: changed, file: "test.yaml", environment: [:]))
            #expect(try await HTTP.get(gateway.url("/health")).status == 200)
        }
    }

    @Test func aReloadSwapsTheCertificateForNewConnections() async throws {
        let certificates = try await TestCertificates.make()
        @Sendable func yaml(_ certificate: String, _ key: String) -> String {
            """
            listeners:
              - name: secure
                host: 127.0.0.1
                port: 0
                tls: {certificate: \(certificate), key: \(key)}
                routes: [{path: /health, handler: health}]
            """
        }
        try await RunningGateway.with(yaml: yaml(certificates.expired, certificates.path("expired.key"))) { gateway in
            let url = "https://localhost:\(gateway.port)/health"
            let before = try await TLSListenerTests.curl(certificates, [url])
            #expect(before.status != 0, "the expired certificate is refused by curl: \(before.stdout)")
            let renewed = try ConfigLoader.parse(yaml: yaml(certificates.server, certificates.serverKey), file: "test.yaml", environment: [:])
            let summary = try await gateway.gateway.reloader.reload(to: renewed)
            #expect(summary.lines.contains("listener secure: TLS certificate and key reloaded"), "\(summary)")
            let after = try await TLSListenerTests.curl(certificates, [url])
            #expect(after.status == 0 && after.stdout.contains(#""status":"ok""#), "the renewed one is served: \(after.stderr)")
        }
    }

    @Test func checkDiffSaysWhatAReloadWouldChangeOrWhyItWouldBeRefused() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("relay-diff-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let a = directory.appendingPathComponent("a.yaml").path
        let b = directory.appendingPathComponent("b.yaml").path
        let moved = directory.appendingPathComponent("moved.yaml").path
        try Self.config("A").write(toFile: a, atomically: true, encoding: .utf8)
        try Self.config("B").write(toFile: b, atomically: true, encoding: .utf8)
        try Self.config("A").replacingOccurrences(of: "port: 0", with: "port: 8123").write(toFile: moved, atomically: true, encoding: .utf8)

        let diff = try await Program.run(Program.gateway, ["check", "--config", b, "--diff", a])
        #expect(diff.status == 0, "\(diff.stderr)")
        #expect(
            diff.stdout == """
                listener main: routes added: GET /metrics; listener filters: limit, cors
                filters built anew: apps, cors, publishers
                filters kept with their state: limit
                open connections: kept

                """,
            "\(diff.stdout)"
        )
        let relay = directory.appendingPathComponent("relay.yaml").path
        try ("relay: {history: {size: 10}}\n" + Self.config("A")).write(toFile: relay, atomically: true, encoding: .utf8)
        let refused = try await Program.run(Program.gateway, ["check", "--config", relay, "--diff", a])
        #expect(refused.status == 1)
        #expect(
            refused.stderr.contains("a reload from \(a) would be refused: \(relay): relay.history: history settings cannot change on a reload"),
            "\(refused.stderr)")
        let movedDiff = try await Program.run(Program.gateway, ["check", "--config", moved, "--diff", a])
        #expect(
            movedDiff.stdout.contains("listener main on 127.0.0.1:0 removed: its subscribers closed (1001)\nlistener main added on 127.0.0.1:8123\n"),
            "\(movedDiff.stdout)")
    }

    /// WebSockets and event streams alike: a reload ends the subscribers its filters refuse.
    @Test func aReloadClosesOnlyTheSubscribersWhoseTokenOrOriginItNoLongerAccepts() async throws {
        @Sendable func yaml(tokens: String, origins: String) -> String {
            """
            tokens: {one: "secret-one", two: "secret-two"}
            filters:
              apps: {type: auth, tokens: [\(tokens)]}
              cors: {type: cors, allow_origins: [\(origins)]}
            listeners:
              - name: main
                host: 127.0.0.1
                port: 0
                filters: [cors]
                routes:
                  - {path: /register, handler: register}
                  - {path: "/ws/{client_id}", handler: subscribe, filters: [apps]}
                  - {path: "/events/{client_id}", handler: events, filters: [apps]}
            """
        }
        let before = yaml(tokens: "one, two", origins: #""https://a.example", "https://b.example""#)
        try await RunningGateway.with(yaml: before) { gateway in
            // Raw sockets: a WebSocket library adds its own Origin field.
            func open(_ token: String, _ origin: String, user: Int) async throws -> RawSocket {
                let url = try await gateway.register(userID: user)
                let path = String(url.drop { $0 != "/" }.dropFirst(2).drop { $0 != "/" })
                let socket = try RawSocket(port: gateway.port)
                socket.send(
                    "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                        + "Authorization: Bearer \(token)\r\nOrigin: \(origin)\r\n\r\n"
                )
                let head = String(decoding: await socket.receive(until: "\r\n\r\n"), as: UTF8.self)
                #expect(head.hasPrefix("HTTP/1.1 101"), "\(head)")
                return socket
            }
            func pong(_ socket: RawSocket) async -> Bool {
                socket.send(HostileClientTests.frame(opcode: 0x1, payload: Array("ping".utf8)))
                return await socket.receive(timeout: .seconds(3), until: "pong") == [0x81, 0x04] + Array("pong".utf8)
            }
            /// The close frame's code and reason, once it comes.
            func closeFrame(_ socket: RawSocket) async -> (UInt16, String)? {
                let bytes = await socket.receive(timeout: .seconds(5), until: "allowed")
                let frame = bytes.count >= 4 && bytes[0] == 0x88 ? bytes : (bytes.firstIndex(of: 0x88).map { Array(bytes[$0...]) } ?? [])
                guard frame.count >= 4 else { return nil }
                return (UInt16(frame[2]) << 8 | UInt16(frame[3]), String(decoding: frame[4..<(2 + Int(frame[1]))], as: UTF8.self))
            }
            let kept = try await open("secret-one", "https://a.example", user: 1)
            let tokenGone = try await open("secret-two", "https://a.example", user: 2)
            let originGone = try await open("secret-one", "https://b.example", user: 3)
            for socket in [kept, tokenGone, originGone] {
                #expect(await pong(socket), "open before the reload")
            }
            let streamURL = try await gateway.register(userID: 4)
            let streamID = String(streamURL.split(separator: "/").last!)
            let streamGone = try await EventStreamClient(port: gateway.port, path: "/events/\(streamID)?token=secret-two")
            #expect(streamGone.status == 200)
            let streamKeptURL = try await gateway.register(userID: 5)
            let streamKept = try await EventStreamClient(
                port: gateway.port, path: "/events/\(streamKeptURL.split(separator: "/").last!)?token=secret-one")
            #expect(streamKept.status == 200)

            let after = try ConfigLoader.parse(yaml: yaml(tokens: "one", origins: #""https://a.example""#), file: "test.yaml", environment: [:])
            let summary = try await gateway.gateway.reloader.reload(to: after)
            #expect(summary.lines.last == "open connections: kept, but 3 subscribers closed (1008): no longer accepted by the filters", "\(summary)")

            let tokenClose = await closeFrame(tokenGone)
            #expect(tokenClose?.0 == 1008 && tokenClose?.1 == "token no longer accepted", "\(String(describing: tokenClose))")
            let originClose = await closeFrame(originGone)
            #expect(originClose?.0 == 1008 && originClose?.1 == "origin no longer allowed", "\(String(describing: originClose))")
            #expect(await pong(kept), "a WebSocket the new config still accepts is not touched")
            // The event stream is told why, and its body ends.
            #expect(await streamGone.read(until: "data: token no longer accepted"), "\(streamGone.rawBody)")
            await streamGone.readToEnd()
            #expect(streamGone.body?.complete == true, "\(streamGone.rawBody)")
            #expect(!streamKept.socket.isClosedByPeer(), "an event stream the new config still accepts is not touched")
        }
    }

    @Test func listenersAreAddedAndRemovedLive() async throws {
        @Sendable func yaml(_ names: [String]) -> String {
            "listeners:\n"
                + names.map { name in
                    """
                      - name: \(name)
                        host: 127.0.0.1
                        port: 0
                        routes:
                          - {path: /health, handler: health}
                          - {path: /register, handler: register}
                          - {path: /publish, handler: publish}
                          - {path: "/ws/{client_id}", handler: subscribe}

                    """
                }.joined()
        }
        try await RunningGateway.with(yaml: yaml(["main"])) { gateway in
            let subscriber = try await TestSubscriber.connect(try await gateway.register(userID: 1))
            subscriber.send("ping")
            #expect(try await subscriber.message(1) == "pong")

            let both = try await gateway.gateway.reloader.reload(
                to: try ConfigLoader.parse(yaml: yaml(["main", "extra"]), file: "test.yaml", environment: [:]))
            let added = try #require(both.lines.first { $0.hasPrefix("listener extra added on 127.0.0.1:") }, "\(both)")
            let extraPort = try #require(Int(added.split(separator: ":").last ?? ""))
            #expect(try await HTTP.get("http://127.0.0.1:\(extraPort)/health").status == 200, "the new listener serves")
            subscriber.send("ping")
            #expect(try await subscriber.message(2) == "pong", "main's WebSocket is untouched")

            // A message queued before the removal still arrives, then 1001 "listener removed".
            #expect(try await gateway.publish(topic: "cats", message: "last one") == 1)
            let onlyExtra = try ConfigLoader.parse(yaml: yaml(["extra"]), file: "test.yaml", environment: [:])
            let removal = try await gateway.gateway.reloader.reload(to: onlyExtra)
            #expect(removal.lines.contains("listener main on 127.0.0.1:0 removed: 1 subscriber closed (1001)"), "\(removal)")
            #expect(try await subscriber.message(3) == "last one")
            let close = try await subscriber.closeFrame(within: .seconds(5))
            #expect(close?.closeCode == .goingAway && close?.reason == "listener removed", "\(String(describing: close))")
            try await eventually("main's port stops accepting") { (try? RawSocket(port: gateway.port)) == nil }
            #expect(try await HTTP.get("http://127.0.0.1:\(extraPort)/health").status == 200)
        }
    }

    @Test func relaySettingsApplyToWhatComesNext() async throws {
        let before = "relay: {default_topics: [cats], max_message_bytes: 1KiB}\n" + RunningGateway.seedYAML()
        try await RunningGateway.with(yaml: before) { gateway in
            let old = try await TestSubscriber.connect(try await gateway.register(userID: 1))
            old.send("ping")
            #expect(try await old.message(1) == "pong")

            let after = "relay: {default_topics: [dogs], max_message_bytes: 64}\n" + RunningGateway.seedYAML()
            try await gateway.gateway.reloader.reload(to: try ConfigLoader.parse(yaml: after, file: "test.yaml", environment: [:]))

            let new = try await TestSubscriber.connect(try await gateway.register(userID: 2))
            new.send("ping")
            #expect(try await new.message(1) == "pong")
            #expect(try await gateway.publish(topic: "dogs", message: "woof") == 1, "a registration made after the reload starts on dogs")
            #expect(try await gateway.publish(topic: "cats", message: "meow") == 1, "the one made before keeps cats")
            #expect(try await new.message(2) == "woof")
            #expect(try await old.message(2) == "meow")

            // A new connection is held to the new limit (curl opens one per run).
            let curl = try Prerequisite.program("curl", install: "apt-get install curl")
            let big = String(repeating: "x", count: 100)
            let refused = try await Program.run(
                curl,
                [
                    "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", gateway.url("/publish"), "-d",
                    #"{"topic": "dogs", "message": "\#(big)"}"#,
                ]
            )
            #expect(refused.stdout == "413", "max_message_bytes is now 64: \(refused.stdout)")
        }
    }
}
