import Foundation
import Testing

/// A fresh PostgreSQL database for one cluster test, on the server `RELAY_TEST_DATABASE_URL`
/// names (`scripts/postgres-test-instance.sh start` prints one; `.ci/run` exports it).
///
/// Without that variable the cluster tests are skipped, naming what is missing (see ``Prerequisite``).
struct TestDatabase: Sendable {
    /// The new database's URL.
    let url: String

    /// The server to create test databases on; without one the test skips (or fails, see ``Prerequisite``).
    static func serverURL() throws -> String {
        if let url = ProcessInfo.processInfo.environment["RELAY_TEST_DATABASE_URL"], !url.isEmpty {
            return url
        }
        try Prerequisite.missing(
            "a PostgreSQL server in RELAY_TEST_DATABASE_URL",
            install: "apt-get install postgresql, then export what `scripts/postgres-test-instance.sh start` prints"
        )
    }

    /// Creates a database named after `test` on `server` (by default ``serverURL()``).
    static func create(_ test: String, on server: String? = nil) async throws -> TestDatabase {
        let server = try server ?? Self.serverURL()
        let name = "relay_\(test.lowercased().filter { $0.isLetter || $0.isNumber })_\(UInt32.random(in: 0...UInt32.max))"
        try await Self.psql(server, "CREATE DATABASE \(name)")
        guard let slash = server.lastIndex(of: "/") else { throw TimedOut(what: "a database URL: \(server)") }
        return TestDatabase(url: server[...slash] + name)
    }

    /// Runs one SQL command with `psql` and returns its unaligned output.
    @discardableResult
    static func psql(_ url: String, _ sql: String) async throws -> String {
        let psql = try Prerequisite.program("psql", install: "apt-get install postgresql-client")
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
