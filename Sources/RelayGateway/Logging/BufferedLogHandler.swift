import Foundation
import Logging
import RelayHTTP

/// swift-log's `StreamLogHandler` line format (`2026-12-01T21:06:33+0000 info relay-gateway :
/// listener=public [RelayGateway] message`), written through a ``LogSink`` instead of a locked
/// `fwrite` and `fflush` per line: logging a request costs formatting its line, never a system call.
/// The metadata is formatted when it is set, and the timestamp once a second per thread.
public struct BufferedLogHandler: LogHandler {
    private let label: String
    private let sink: LogSink
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    public var metadata: Logger.Metadata = [:] {
        didSet { self.prettyMetadata = Self.prettify(self.metadata) }
    }
    private var prettyMetadata: String?

    public init(label: String, sink: LogSink = .standardOutput) {
        self.label = label
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var pretty = self.prettyMetadata
        let provided = self.metadataProvider?.get() ?? [:]
        if !provided.isEmpty || event.metadata?.isEmpty == false || event.error != nil {
            var merged = self.metadata.merging(provided) { current, _ in current }
            merged.merge(event.metadata ?? [:]) { _, explicit in explicit }
            if let error = event.error { merged["error"] = "\(error)" }
            pretty = Self.prettify(merged)
        }
        // Appended piece by piece into the thread's buffer: no line string of its own.
        let timestamp = LogTimestamp.now
        let message = event.message.description
        let bytes = timestamp.utf8.count + self.label.utf8.count + (pretty?.utf8.count ?? 0) + event.source.utf8.count + message.utf8.count + 24
        self.sink.write(bytes: bytes) { buffer in
            buffer.append(contentsOf: timestamp.utf8)
            buffer.append(UInt8(ascii: " "))
            buffer.append(contentsOf: event.level.rawValue.utf8)
            if !self.label.isEmpty {
                buffer.append(UInt8(ascii: " "))
                buffer.append(contentsOf: self.label.utf8)
            }
            buffer.append(UInt8(ascii: ":"))
            if let pretty {
                buffer.append(UInt8(ascii: " "))
                buffer.append(contentsOf: pretty.utf8)
            }
            buffer.append(contentsOf: " [".utf8)
            buffer.append(contentsOf: event.source.utf8)
            buffer.append(contentsOf: "] ".utf8)
            buffer.append(contentsOf: message.utf8)
            buffer.append(UInt8(ascii: "\n"))
        }
    }

    private static func prettify(_ metadata: Logger.Metadata) -> String? {
        metadata.isEmpty ? nil : metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
}

/// `%Y-%m-%dT%H:%M:%S%z` in local time, as StreamLogHandler writes it.
enum LogTimestamp {
    private static let clock = SecondClock { seconds in
        var seconds = seconds
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return String(cString: buffer)
    }

    static var now: String { self.clock.now }
}
