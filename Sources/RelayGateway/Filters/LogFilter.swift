import Logging
import RelayConfig
import RelayHTTP

/// `type: log`: one line per finished request: method, path (client ids masked, query dropped),
/// status, duration and peer address; for an accepted WebSocket also one line when it closes, with
/// its duration and the frames sent. Never a header, a query string or a body, so no token or full
/// client id reaches the log.
struct LogFilter: RequestFilter {
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

    let logger: Logger
    let level: Logger.Level
    let format: Format

    func handle(_ request: Request, context: RequestContext, next: any Responder) throws -> Reply {
        let start = ContinuousClock.now
        let upgrade = context.upgrade
        return next.respond(to: request, context: context).map { response in
            let peer = context.peerAddress
            let path = Self.maskedPath(request.path)
            self.emit(method: request.method.rawValue, path: path, status: response.status.code, duration: ContinuousClock.now - start, peer: peer)
            if response.status == .switchingProtocols, let slot = upgrade?.attachment(UpgradeSlot.self) {
                slot.onSessionEnd { summary in
                    self.emit(method: "WS", path: path, status: nil, duration: summary.duration, peer: peer, closed: summary)
                }
            }
            return response
        }
    }

    /// One line, written by hand (no formatter, no encoder: this runs for every request).
    private func emit(method: String, path: String, status: Int?, duration: Duration, peer: String, closed: SessionSummary? = nil) {
        guard self.level >= self.logger.logLevel else { return }
        let milliseconds = Self.milliseconds(duration)
        let line: String
        switch self.format {
        case .text:
            if let closed {
                line = "\(method) \(path) closed \(milliseconds)ms peer=\(peer) sent=\(closed.messagesSent) dropped=\(closed.messagesDropped)"
            } else {
                line = "\(method) \(path) \(status ?? 0) \(milliseconds)ms peer=\(peer)"
            }
        case .json:
            // Keys sorted, as the gateway's other JSON.
            var fields: [String] = []
            if let closed {
                fields.append(#""dropped":\#(closed.messagesDropped)"#)
            }
            fields.append(#""duration_ms":\#(milliseconds)"#)
            if closed != nil {
                fields.append(#""event":"close""#)
            }
            fields.append(#""method":\#(JSONString.quoted(method))"#)
            fields.append(#""path":\#(JSONString.quoted(path))"#)
            fields.append(#""peer":\#(JSONString.quoted(peer))"#)
            if let closed {
                fields.append(#""sent":\#(closed.messagesSent)"#)
            }
            if let status {
                fields.append(#""status":\#(status)"#)
            }
            line = "{" + fields.joined(separator: ",") + "}"
        }
        self.logger.log(level: self.level, "\(line)")
    }

    /// `12.34`: milliseconds to two decimals.
    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let hundredths = seconds * 100_000 + (attoseconds + 5_000_000_000_000) / 10_000_000_000_000
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// Client ids are capabilities: a path segment that looks like one keeps only its first 8 characters.
    static func maskedPath(_ path: some StringProtocol) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.count == 32 && segment.allSatisfy(\.isHexDigit) ? segment.prefix(8) + "…" : String(segment)
        }.joined(separator: "/")
    }
}
