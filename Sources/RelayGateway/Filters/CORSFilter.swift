import HTTPTypes
import RelayConfig
import RelayHTTP

/// `type: cors`: Cross-Origin Resource Sharing for browsers.
///
/// Preflights (`OPTIONS` with `Access-Control-Request-Method`) are answered here with 204, or 403
/// for an origin not allowed. Other requests from an allowed origin get the CORS headers on their
/// answer; from another origin they pass without them (the browser then blocks the read), except
/// WebSocket upgrades, which browsers do not guard: those are refused with 403.
struct CORSFilter: RequestFilter {
    struct Options: Sendable {
        var allowOrigins: [String] = ["*"]
        var allowMethods: [String] = ["GET", "POST", "DELETE", "OPTIONS"]
        var allowHeaders: [String] = ["Content-Type", "Authorization"]
        var exposeHeaders: [String] = []
        var maxAge: Duration = .seconds(600)
        var allowCredentials = false

        init(_ declaration: FilterDeclaration) throws(ConfigError) {
            let options = declaration.options
            try options.rejectUnknownKeys(allowed: [
                "type", "allow_origins", "allow_methods", "allow_headers", "expose_headers", "max_age", "allow_credentials",
            ])
            if let node = options.node("allow_origins") { self.allowOrigins = try node.stringList() }
            if let node = options.node("allow_methods") { self.allowMethods = try node.stringList().map { $0.uppercased() } }
            if let node = options.node("allow_headers") { self.allowHeaders = try node.stringList() }
            if let node = options.node("expose_headers") { self.exposeHeaders = try node.stringList() }
            if let node = options.node("max_age") { self.maxAge = try node.duration() }
            if let node = options.node("allow_credentials") { self.allowCredentials = try node.bool() }
            if self.allowCredentials && self.allowOrigins.contains("*"), let node = options.node("allow_credentials") {
                throw node.location.error("allow_credentials cannot be combined with allow_origins \"*\"; list the origins")
            }
        }
    }

    static let plugin = FilterPlugin(type: "cors") { declaration, _ throws(ConfigError) in
        CORSFilter(options: try Options(declaration))
    }

    let options: Options
    private let anyOrigin: Bool

    init(options: Options) {
        self.options = options
        self.anyOrigin = options.allowOrigins.contains("*")
    }

    func handle(_ request: Request, context: RequestContext, next: any Responder) throws -> Reply {
        guard let origin = request.headers.first(.origin) else {
            return next.respond(to: request, context: context)
        }
        let allowed = self.anyOrigin || self.options.allowOrigins.contains(origin)
        let isPreflight = request.method == .options && request.headers.first(.accessControlRequestMethod) != nil
        let isWebSocket = request.headers.first(.upgrade)?.lowercased() == "websocket"
        guard allowed else {
            if isPreflight || isWebSocket {
                throw HTTPError(.forbidden, "origin not allowed")
            }
            return next.respond(to: request, context: context)
        }
        if isPreflight {
            var headers = self.originHeaders(origin)
            headers[.accessControlAllowMethods] = self.options.allowMethods.joined(separator: ", ")
            headers[.accessControlAllowHeaders] = self.options.allowHeaders.joined(separator: ", ")
            headers[.accessControlMaxAge] = String(self.options.maxAge.components.seconds)
            return .now(Response(status: .noContent, headers: headers))
        }
        var headers = self.originHeaders(origin)
        if !self.options.exposeHeaders.isEmpty {
            headers[.accessControlExposeHeaders] = self.options.exposeHeaders.joined(separator: ", ")
        }
        return next.respond(to: request, context: context).adding(headers)
    }

    private func originHeaders(_ origin: String) -> HTTPFields {
        var headers = HTTPFields()
        if self.anyOrigin && !self.options.allowCredentials {
            headers[.accessControlAllowOrigin] = "*"
        } else {
            headers[.accessControlAllowOrigin] = origin
            headers[.vary] = "Origin"
        }
        if self.options.allowCredentials {
            headers[.accessControlAllowCredentials] = "true"
        }
        return headers
    }
}

extension CORSFilter: SubscriberRecheck {
    /// The origin its handshake came from, if any, must still be allowed.
    func recheck(_ subscriber: OpenSubscriber) async -> Readmission {
        guard let origin = subscriber.handshake.headers.first(.origin) else { return .keep }
        return self.anyOrigin || self.options.allowOrigins.contains(origin) ? .keep : .refuse("origin no longer allowed")
    }
}
