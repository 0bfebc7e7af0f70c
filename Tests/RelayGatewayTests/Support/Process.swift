import Foundation

/// Runs programs for the CLI and walkthrough tests: the gateway binary built beside the tests,
/// curl and websocat.
enum Program {
    /// The `relay-gateway` executable SwiftPM built next to the test bundle.
    static var gateway: URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("relay-gateway")
            if FileManager.default.isExecutableFile(atPath: candidate.path) {
                return candidate
            }
            directory.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: ".build/debug/relay-gateway")
    }

    /// The package root (where `config/relay.yaml` is).
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Finds `name` on PATH.
    static func find(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) {
                return candidate
            }
        }
        return nil
    }

    struct Finished {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs to completion (killed after `limit`) and returns the exit status and output.
    static func run(
        _ executable: URL,
        _ arguments: [String],
        environment: [String: String] = [:],
        stdin: String? = nil,
        limit: Duration = .seconds(30),
        in directory: URL? = nil
    ) async throws -> Finished {
        let running = try Running(executable, arguments, environment: environment, stdin: stdin, in: directory)
        return try await running.finish(within: limit)
    }
}

/// A started child process whose output is collected into files.
final class Running: @unchecked Sendable {
    let process = Process()
    private let stdoutFile: URL
    private let stderrFile: URL

    /// - Parameter directory: where it runs; the package root when nil.
    init(_ executable: URL, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil, in workingDirectory: URL? = nil) throws
    {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("relay-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.stdoutFile = directory.appendingPathComponent("stdout")
        self.stderrFile = directory.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: self.stdoutFile.path, contents: nil)
        FileManager.default.createFile(atPath: self.stderrFile.path, contents: nil)
        self.process.executableURL = executable
        self.process.arguments = arguments
        self.process.currentDirectoryURL = workingDirectory ?? Program.packageRoot
        self.process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        self.process.standardOutput = try FileHandle(forWritingTo: self.stdoutFile)
        self.process.standardError = try FileHandle(forWritingTo: self.stderrFile)
        if let stdin {
            let pipe = Pipe()
            self.process.standardInput = pipe
            try self.process.run()
            pipe.fileHandleForWriting.write(Data(stdin.utf8))
            try pipe.fileHandleForWriting.close()
        } else {
            self.process.standardInput = FileHandle.nullDevice
            try self.process.run()
        }
    }

    var stdout: String { (try? String(contentsOf: self.stdoutFile, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: self.stderrFile, encoding: .utf8)) ?? "" }

    /// Waits for the gateway's "listening" log line and returns the port it bound (start it with
    /// `RELAY_PORT=0`, so parallel tests never collide); fails at once if the process exits.
    func awaitListening(within limit: Duration = .seconds(60)) async throws -> Int {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let match = self.stdout.firstMatch(of: /address=127\.0\.0\.1:(\d+)/), let port = Int(match.1) {
                return port
            }
            guard self.process.isRunning else {
                throw TimedOut(what: "gateway exited with \(self.process.terminationStatus): \(self.stderr)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TimedOut(what: "gateway listening; stderr: \(self.stderr)")
    }

    func signal(_ signal: Int32) {
        kill(self.process.processIdentifier, signal)
    }

    /// Waits for exit; past `limit` the process is killed and the wait fails.
    func finish(within limit: Duration) async throws -> Program.Finished {
        let deadline = ContinuousClock.now + limit
        while self.process.isRunning {
            if ContinuousClock.now > deadline {
                self.process.terminate()
                kill(self.process.processIdentifier, SIGKILL)
                throw TimedOut(what: "\(self.process.executableURL?.lastPathComponent ?? "process") did not exit; stderr: \(self.stderr)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return Program.Finished(status: self.process.terminationStatus, stdout: self.stdout, stderr: self.stderr)
    }

    deinit {
        if self.process.isRunning {
            kill(self.process.processIdentifier, SIGKILL)
        }
    }
}
