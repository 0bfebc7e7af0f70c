import Foundation
import Hummingbird
import Logging
import RelayConfig

/// `type: log`: one line per finished request: method, path (client ids masked, query dropped),
/// status, duration and peer address; for an accepted WebSocket also one line when it closes, with
/// its duration and the frames sent. Never a header, a query string or a body, so no token or full
/// client id reaches the log.
struct LogFilter: RouterMiddleware {
    enum Format: String {
        case text
        case json
    }

    static let plugin = FilterPlugin(type: "log") { declaration, environment throws(ConfigError) in
        let options = declaration.options
        try options.rejectUnknownKeys(allowed: ["type", "level", "format"])
        var level = Logger.Level.info
        if let node = options.node("level") {
            guard let parsed = Logger.Level(rawValue: try node.string()) else {
                throw node.location.error("level must be one of: trace, debug, info, notice, warning, error, critical")
            }
            level = parsed
        }
        var format = Format.text
        if let node = options.node("format") {
            guard let parsed = Format(rawValue: try node.string()) else {
                throw node.location.error("format must be one of: text, json")
            }
            format = parsed
        }
        var logger = environment.logger
        logger[metadataKey: "filter"] = .string(declaration.name)
        return LogFilter(logger: logger, level: level, format: format)
    }

    private struct Entry: Encodable {
        let method: String
        let path: String
        let status: Int?
        let duration_ms: Double
        let peer: String
        var event: String? = nil
        var sent: Int? = nil
        var dropped: Int? = nil
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    let logger: Logger
    let level: Logger.Level
    let format: Format

    func handle(_ request: Request, context: RelayRequestContext, next: (Request, RelayRequestContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            self.log(request, status: response.status.code, since: start, peer: context.peerAddress)
            if response.status == .switchingProtocols, let upgrade = context.upgrade {
                let path = Self.maskedPath(request.uri.path)
                let peer = context.peerAddress
                upgrade.onSessionEnd { summary in
                    self.logClose(path: path, peer: peer, summary: summary)
                }
            }
            return response
        } catch {
            self.log(request, status: RelayHTTPError.from(error).status.code, since: start, peer: context.peerAddress)
            throw error
        }
    }

    private func log(_ request: Request, status: Int, since start: ContinuousClock.Instant, peer: String) {
        let path = Self.maskedPath(request.uri.path)
        let milliseconds = Self.milliseconds(ContinuousClock.now - start)
        switch self.format {
        case .text:
            self.emit("\(request.method.rawValue) \(path) \(status) \(String(format: "%.2f", milliseconds))ms peer=\(peer)")
        case .json:
            self.emit(Entry(method: request.method.rawValue, path: path, status: status, duration_ms: milliseconds, peer: peer))
        }
    }

    private func logClose(path: String, peer: String, summary: SessionSummary) {
        let milliseconds = Self.milliseconds(summary.duration)
        switch self.format {
        case .text:
            self.emit(
                "WS \(path) closed \(String(format: "%.2f", milliseconds))ms peer=\(peer) sent=\(summary.messagesSent) dropped=\(summary.messagesDropped)"
            )
        case .json:
            self.emit(
                Entry(
                    method: "WS", path: path, status: nil, duration_ms: milliseconds, peer: peer, event: "close",
                    sent: summary.messagesSent, dropped: summary.messagesDropped
                )
            )
        }
    }

    private func emit(_ entry: Entry) {
        self.emit((try? Self.encoder.encode(entry)).map { String(decoding: $0, as: UTF8.self) } ?? "")
    }

    private func emit(_ line: String) {
        self.logger.log(level: self.level, "\(line)")
    }

    private static func milliseconds(_ duration: Duration) -> Double {
        let value = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        return (value * 100).rounded() / 100
    }

    /// Client ids are capabilities: a path segment that looks like one keeps only its first 8 characters.
    static func maskedPath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.count == 32 && segment.allSatisfy(\.isHexDigit) ? segment.prefix(8) + "…" : String(segment)
        }.joined(separator: "/")
    }
}
