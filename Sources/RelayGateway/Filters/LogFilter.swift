import Foundation
import Hummingbird
import Logging
import RelayConfig

/// `type: log`: one line per finished request: method, path (client ids masked, query dropped),
/// status, duration and peer address. Never a header, a query string or a body, so no token or
/// full client id reaches the log.
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
        let status: Int
        let duration_ms: Double
        let peer: String
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
            return response
        } catch {
            self.log(request, status: RelayHTTPError.from(error).status.code, since: start, peer: context.peerAddress)
            throw error
        }
    }

    private func log(_ request: Request, status: Int, since start: ContinuousClock.Instant, peer: String) {
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        let path = Self.maskedPath(request.uri.path)
        let line: String
        switch self.format {
        case .text:
            line = "\(request.method.rawValue) \(path) \(status) \(String(format: "%.2f", milliseconds))ms peer=\(peer)"
        case .json:
            let entry = Entry(
                method: request.method.rawValue, path: path, status: status,
                duration_ms: (milliseconds * 100).rounded() / 100, peer: peer
            )
            line = (try? Self.encoder.encode(entry)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        }
        self.logger.log(level: self.level, "\(line)")
    }

    /// Client ids are capabilities: a path segment that looks like one keeps only its first 8 characters.
    static func maskedPath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.count == 32 && segment.allSatisfy(\.isHexDigit) ? segment.prefix(8) + "…" : String(segment)
        }.joined(separator: "/")
    }
}
