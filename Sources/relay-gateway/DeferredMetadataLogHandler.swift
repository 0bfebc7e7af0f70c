import Logging

/// swift-log's `StreamLogHandler` with its metadata formatted only when a message is logged.
///
/// `StreamLogHandler` formats its whole metadata again every time a key is set, and Hummingbird
/// sets `hb.request.id` on every request's logger. Most requests log nothing, so that work was
/// wasted: about 5% of the server's CPU per publish (perf, BENCHMARKS.md). This handler keeps
/// the metadata itself and hands it to the stream handler with each message it logs.
struct DeferredMetadataLogHandler: LogHandler {
    private var output: StreamLogHandler
    var metadata: Logger.Metadata = [:]

    init(label: String) {
        self.output = StreamLogHandler.standardOutput(label: label)
    }

    var logLevel: Logger.Level {
        get { self.output.logLevel }
        set { self.output.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { self.output.metadataProvider }
        set { self.output.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        if !self.metadata.isEmpty {
            event.metadata = self.metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        }
        self.output.log(event: event)
    }
}
