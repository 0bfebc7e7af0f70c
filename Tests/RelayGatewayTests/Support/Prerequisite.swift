import Foundation
import Testing

/// What a test needs from the machine beyond Swift: a program (curl, websocat, Chromium, nginx) or
/// a server (PostgreSQL). `scripts/test` installs every one and sets `RELAY_REQUIRE_ALL_TESTS=1`, so
/// there a missing one fails the test; a plain `swift test` on a machine without it skips the tests
/// that need it (Swift Testing reports them as cancelled, with this reason).
enum Prerequisite {
    static var required: Bool { ProcessInfo.processInfo.environment["RELAY_REQUIRE_ALL_TESTS"] == "1" }

    /// The first of `names` found on PATH (or in `/usr/sbin`); otherwise the test skips or fails.
    static func program(_ names: String..., install: String) throws -> URL {
        for name in names {
            if let found = Program.find(name) { return found }
            let system = URL(fileURLWithPath: "/usr/sbin/\(name)")
            if FileManager.default.isExecutableFile(atPath: system.path) { return system }
        }
        try self.missing(names.joined(separator: " or "), install: install)
    }

    /// Skips the running test, naming `what` and how to install it; fails it where every test must run.
    static func missing(_ what: String, install: String) throws -> Never {
        let reason = "needs \(what): \(install), or run scripts/test, which installs it"
        if self.required { throw Missing(reason: reason) }
        try Test.cancel(Comment(rawValue: reason))
    }

    struct Missing: Error, CustomStringConvertible {
        let reason: String
        var description: String { "every test must run here (RELAY_REQUIRE_ALL_TESTS=1), but this one \(self.reason)" }
    }
}
