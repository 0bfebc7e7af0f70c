import ArgumentParser
import Foundation

/// `relay-gateway reload --pid-file FILE`: signals the `serve` that wrote FILE (SIGHUP) and waits
/// for its verdict: prints what changed and exits 0, or prints why the new config was refused
/// (the running one stays) and exits 1.
struct Reload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a running gateway re-read its config file (the one `serve` was given) and apply it live."
    )

    @Option(help: "The pid file `serve --pid-file` wrote.") var pidFile: String
    @Option(help: "Seconds to wait for the gateway's answer.") var timeout: Double = 30

    func run() async throws {
        guard let text = try? String(contentsOfFile: self.pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            Self.fail("no pid in \(self.pidFile): is `relay-gateway serve --pid-file \(self.pidFile)` running?", code: 2)
        }
        let statusPath = self.pidFile + ".reload"
        let before = Self.status(at: statusPath)?.generation ?? -1
        guard kill(pid, SIGHUP) == 0 else {
            Self.fail("cannot signal process \(pid) from \(self.pidFile): \(String(cString: strerror(errno)))", code: 2)
        }
        let deadline = Date().addingTimeInterval(self.timeout)
        while Date() < deadline {
            if let status = Self.status(at: statusPath), status.generation > before {
                guard status.ok else { Self.fail("reload refused, the running config stays: \(status.message)", code: 1) }
                print(status.message)
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        Self.fail("process \(pid) did not answer within \(Int(self.timeout)) s (see its log)", code: 1)
    }

    private static func status(at path: String) -> ReloadStatus? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(ReloadStatus.self, from: data)
    }

    private static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("relay-gateway: \(message)\n".utf8))
        Foundation.exit(code)
    }
}
