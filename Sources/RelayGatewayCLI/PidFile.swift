import Foundation
import RelayConfig
import RelayGateway
import Synchronization

/// `serve --pid-file FILE`: the process id in FILE, and the outcome of the last reload in
/// `FILE.reload` (one JSON object: `generation`, `ok`, `message`), which `relay-gateway reload`
/// waits on. Both are written atomically (a temporary file renamed over the old one).
final class PidFile: Sendable {
    let path: String
    var statusPath: String { self.path + ".reload" }
    private let generation = Mutex(0)

    init(path: String) throws {
        self.path = path
        try Self.write("\(getpid())\n", to: path)
        self.record(ok: true, message: "started")
    }

    func record(_ result: Result<ReloadSummary, ConfigError>) {
        switch result {
        case .success(let summary): self.record(ok: true, message: "config reloaded\n" + summary.description)
        case .failure(let error): self.record(ok: false, message: "\(error)")
        }
    }

    private func record(ok: Bool, message: String) {
        self.generation.withLock { generation in
            let status = ReloadStatus(generation: generation, ok: ok, message: message)
            generation += 1
            if let data = try? JSONEncoder().encode(status), let text = String(data: data, encoding: .utf8) {
                try? Self.write(text + "\n", to: self.statusPath)
            }
        }
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: self.path)
        try? FileManager.default.removeItem(atPath: self.statusPath)
    }

    static func write(_ text: String, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw PidFileError(message: "cannot write \(path): \(reason)")
        }
    }
}

struct ReloadStatus: Codable {
    let generation: Int
    let ok: Bool
    let message: String
}

struct PidFileError: Error, CustomStringConvertible {
    let message: String
    var description: String { self.message }
}
