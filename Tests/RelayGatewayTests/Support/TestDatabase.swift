import Foundation
import Testing

/// A fresh PostgreSQL database for one cluster test, on the server `RELAY_TEST_DATABASE_URL`
/// names (`scripts/postgres-test-instance.sh start` prints one; `.ci/run` exports it).
///
/// Without that variable the cluster tests are skipped with a message, unless
/// `RELAY_REQUIRE_POSTGRES=1` (set by `.ci/run`): then they fail.
struct TestDatabase: Sendable {
    /// The new database's URL.
    let url: String

    static var serverURL: String? {
        let environment = ProcessInfo.processInfo.environment
        if let url = environment["RELAY_TEST_DATABASE_URL"], !url.isEmpty {
            return url
        }
        if environment["RELAY_REQUIRE_POSTGRES"] == "1" {
            Issue.record("RELAY_TEST_DATABASE_URL is not set, but RELAY_REQUIRE_POSTGRES=1: the cluster tests must run here")
        } else {
            print("SKIPPED cluster tests: no RELAY_TEST_DATABASE_URL (run `scripts/postgres-test-instance.sh start` and export what it prints)")
        }
        return nil
    }

    /// Creates a database named after `test` on `server` (nil without a server).
    static func create(_ test: String, on server: String? = Self.serverURL) async throws -> TestDatabase? {
        guard let server else { return nil }
        let name = "relay_\(test.lowercased().filter { $0.isLetter || $0.isNumber })_\(UInt32.random(in: 0...UInt32.max))"
        try await Self.psql(server, "CREATE DATABASE \(name)")
        guard let slash = server.lastIndex(of: "/") else { throw TimedOut(what: "a database URL: \(server)") }
        return TestDatabase(url: server[...slash] + name)
    }

    /// Runs one SQL command with `psql` and returns its unaligned output.
    @discardableResult
    static func psql(_ url: String, _ sql: String) async throws -> String {
        guard let psql = Program.find("psql") else { throw TimedOut(what: "psql on PATH (apt-get install postgresql-client)") }
        let result = try await Program.run(psql, [url, "-v", "ON_ERROR_STOP=1", "-tAc", sql])
        guard result.status == 0 else { throw TimedOut(what: "psql \(sql): \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @discardableResult
    func sql(_ sql: String) async throws -> String {
        try await Self.psql(self.url, sql)
    }
}

/// A private PostgreSQL server of one test's own (`scripts/postgres-test-instance.sh` on another
/// port), for tests that restart it.
struct PrivateDatabaseServer: Sendable {
    let port: Int
    let url: String

    private static func script(_ command: String, port: Int) async throws -> String {
        let result = try await Program.run(
            URL(fileURLWithPath: "/bin/bash"),
            [Program.packageRoot.appendingPathComponent("scripts/postgres-test-instance.sh").path, command],
            environment: ["RELAY_TEST_PG_PORT": "\(port)", "RELAY_TEST_PG_DIR": "/tmp/relay-test-pg-\(port)"],
            limit: .seconds(60)
        )
        guard result.status == 0 else { throw TimedOut(what: "postgres-test-instance.sh \(command): \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func start(port: Int) async throws -> PrivateDatabaseServer {
        PrivateDatabaseServer(port: port, url: try await Self.script("start", port: port))
    }

    func restart() async throws { _ = try await Self.script("restart", port: self.port) }
    func stop() async throws { _ = try await Self.script("stop", port: self.port) }
}
