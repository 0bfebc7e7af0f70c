import Foundation
import RelayConfig
import Testing

/// The files in `examples/` work as `examples/README.md` says.
@Suite struct ExamplesTests {
    static let examples = Program.packageRoot.appendingPathComponent("examples")

    /// Every example config loads and builds a gateway (with the environment it documents).
    @Test(arguments: ["production.yaml", "console.yaml", "bench.yaml", "bench-history.yaml", "cluster.yaml", "bench-cluster.yaml", "jwt.yaml"])
    func exampleConfigsAreValid(_ name: String) async throws {
        let yaml = try String(contentsOf: Self.examples.appendingPathComponent(name), encoding: .utf8)
        let environment = [
            "RELAY_PUBLISH_TOKEN": "p", "RELAY_SUBSCRIBE_TOKEN": "s", "RELAY_PORT": "0", "RELAY_PUBLIC_PORT": "0", "RELAY_INTERNAL_PORT": "0",
            // The cluster examples build here as their config; ClusterTests run them as a cluster.
            "RELAY_DATABASE_URL": "postgres://relay@127.0.0.1:5432/relay", "RELAY_NODE_ID": "a",
            "JWT_SECRET": String(repeating: "s", count: 64),
        ]
        try await RunningGateway.with(yaml: yaml, environment: environment) { gateway in
            #expect(!gateway.ports.isEmpty)
        }
    }

    /// `publish-lines.sh` with real curl: each stdin line arrives as one message, byte for byte,
    /// and a refused line stops it with the gateway's error.
    @Test func publishLinesSendsEachLineExactly() async throws {
        let yaml = RunningGateway.seedYAML(
            routeFilters: ["publish": "[backends]"],
            relay: "tokens: {publisher: \"${PUB}\"}\nfilters:\n  backends: {type: auth, tokens: [publisher]}"
        )
        try await RunningGateway.with(yaml: yaml, environment: ["PUB": "line-secret"]) { gateway in
            let subscriber = try await TestSubscriber.connect(try await gateway.register(userID: 3))
            let lines = ["plain", "with \"quotes\" and \\backslashes\\", "tab\there", "emoji 🐈 and é", "", "{\"json\": true}"]
            let script = Self.examples.appendingPathComponent("publish-lines.sh")
            let run = try await Program.run(
                script, ["-t", "cats", "-U", "3"],
                environment: ["RELAY_PUBLISH_URL": gateway.url("/publish"), "RELAY_PUBLISH_TOKEN": "line-secret"],
                stdin: lines.joined(separator: "\n") + "\n"
            )
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.split(separator: "\n").count == lines.count, "\(run.stdout)")
            #expect(try await subscriber.messages(lines.count) == lines)

            let refused = try await Program.run(
                script, [], environment: ["RELAY_PUBLISH_URL": gateway.url("/publish"), "RELAY_PUBLISH_TOKEN": "wrong"], stdin: "x\ny\n"
            )
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("401") && refused.stderr.contains("invalid token"), "\(refused.stderr)")
        }
    }
}
