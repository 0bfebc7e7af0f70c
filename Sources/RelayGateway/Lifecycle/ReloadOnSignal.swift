import Logging
import RelayConfig
import ServiceLifecycle
import UnixSignals

/// Re-reads the config file on each SIGHUP and hands it to the ``ConfigReloader``: the outcome
/// is logged as one line (the error as `file:line: key.path: message`) and told to `onReload`.
struct ReloadOnSignal: Service, CustomStringConvertible {
    let file: String
    let reloader: ConfigReloader
    let logger: Logger
    let onReload: @Sendable (Result<ReloadSummary, ConfigError>) -> Void

    var description: String { "ReloadOnSignal(\(self.file))" }

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            await self.reload()
        }
    }

    func reload() async {
        do {
            let summary = try await self.reloader.reload(file: self.file)
            self.logger.notice("config reloaded", metadata: ["file": "\(self.file)", "changes": "\(summary.lines.joined(separator: "; "))"])
            self.onReload(.success(summary))
        } catch {
            self.logger.error("config reload refused, the running config stays: \(error)")
            self.onReload(.failure(error))
        }
    }
}
