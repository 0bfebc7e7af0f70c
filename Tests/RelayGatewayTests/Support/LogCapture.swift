import Logging
import Synchronization

/// Collects every log line a gateway writes, to check the log filter's output.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    var all: [String] { self.lines.withLock { $0 } }

    func append(_ line: String) {
        self.lines.withLock { $0.append(line) }
    }

    /// A factory for `RunningGateway.with(logHandler:)`.
    var handler: @Sendable (String) -> any LogHandler {
        { label in CapturingHandler(label: label, capture: self) }
    }

    private struct CapturingHandler: LogHandler {
        let label: String
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let metadata = self.metadata.merging(event.metadata ?? [:]) { _, new in new }
            let rendered = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            self.capture.append("\(event.level) \(rendered) \(event.message)")
        }
    }
}
