import Logging
import RelayConfig
import RelayHTTP

/// `type: log`: one line per finished request: method, path (client ids masked, query dropped),
/// status, duration and peer address; for a subscriber connection it opened (a WebSocket, an event
/// stream) also one line when it closes, with its duration and the messages sent. Never a header, a query string or a body, so no token or full
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
        switch next.respond(to: request, context: context) {
        case .now(let response):
            // Logged here, not through `Reply.map`: an answer given now costs no closure.
            self.finished(request, response, since: start, context: context)
            return .now(response)
        case .later(let future):
            return .later(
                future.map { response in
                    self.finished(request, response, since: start, context: context)
                    return response
                }
            )
        }
    }

    private func finished(_ request: Request, _ response: Response, since start: ContinuousClock.Instant, context: RequestContext) {
        guard self.level >= self.logger.logLevel else { return }
        let path = Self.maskedPath(request.path)
        let peer = context.peerAddress
        self.emit(method: request.method.rawValue, path: path, status: response.status.code, duration: ContinuousClock.now - start, peer: peer)
        if let admission = response.handover as? SubscriberAdmission {
            // Its close line, whatever the transport: `WS` for a WebSocket, the method for an event stream.
            let method = response.status == .switchingProtocols ? "WS" : request.method.rawValue
            admission.onEnd { summary in
                self.emit(method: method, path: path, status: nil, duration: summary.duration, peer: peer, closed: summary)
            }
        }
    }

    /// One line, written by hand (no formatter, no encoder: this runs for every request).
    private func emit(method: String, path: String, status: Int?, duration: Duration, peer: String, closed: SubscriberSummary? = nil) {
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
        // `source` given: swift-log would otherwise work it out of #fileID on every line.
        self.logger.log(level: self.level, "\(line)", source: "RelayGateway")
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
        // One pass to see whether any segment is one: most paths hold none, and are not copied apart.
        var run = 0
        var hex = true
        var found = false
        for byte in path.utf8 {
            if byte == UInt8(ascii: "/") {
                if run == 32 && hex {
                    found = true
                    break
                }
                run = 0
                hex = true
            } else {
                run += 1
                hex = hex && Self.isHexDigit(byte)
            }
        }
        guard found || (run == 32 && hex) else { return String(path) }
        return path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map { segment in
            Self.looksLikeClientID(segment) ? String(decoding: segment.prefix(8), as: UTF8.self) + "…" : String(decoding: segment, as: UTF8.self)
        }.joined(separator: "/")
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
    }

    private static func looksLikeClientID(_ segment: some Collection<UInt8>) -> Bool {
        segment.count == 32 && segment.allSatisfy(Self.isHexDigit)
    }
}
