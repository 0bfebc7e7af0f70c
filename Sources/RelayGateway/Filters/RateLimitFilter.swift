import HTTPTypes
import RelayConfig
import RelayHTTP

/// `type: rate_limit`: a token bucket per key (`ip`, `token`, or `header:NAME`), refilled at
/// `rate` (`20/s`, `600/m`, `10/h`) up to `burst`. Over the limit: 429 with `Retry-After` and the
/// IETF `RateLimit` / `RateLimit-Policy` headers; every answer carries the latter two.
struct RateLimitFilter: RequestFilter {
    enum Key: Sendable {
        case ip
        case token
        case header(HTTPField.Name)
    }

    static let plugin = FilterPlugin(type: "rate_limit") { declaration, environment throws(ConfigError) in
        let options = declaration.options
        try options.rejectUnknownKeys(allowed: ["type", "rate", "burst", "key", "max_keys"])
        let rateNode = try options.required("rate")
        guard let rate = Rate(try rateNode.string()) else {
            throw rateNode.location.error("rate must look like 20/s, 600/m or 10/h (a positive number per s, m or h)")
        }
        var burst = max(1, Int(rate.perSecond.rounded(.up)))
        if let node = options.node("burst") {
            burst = try node.int()
            guard burst >= 1 else { throw node.location.error("burst must be at least 1") }
        }
        var key = Key.ip
        if let node = options.node("key") {
            let text = try node.string()
            switch text {
            case "ip": key = .ip
            case "token": key = .token
            default:
                guard text.hasPrefix("header:"), let name = HTTPField.Name(String(text.dropFirst("header:".count))) else {
                    throw node.location.error("key must be ip, token or header:NAME")
                }
                key = .header(name)
            }
        }
        var maxKeys = 65_536
        if let node = options.node("max_keys") {
            maxKeys = try node.int()
            guard maxKeys >= 1 else { throw node.location.error("max_keys must be at least 1") }
        }
        return RateLimitFilter(
            name: declaration.name,
            key: key,
            buckets: TokenBuckets(perSecond: rate.perSecond, burst: burst, maxKeys: maxKeys, clock: environment.clock),
            metrics: environment.metrics
        )
    }

    let name: String
    let key: Key
    let buckets: TokenBuckets
    let metrics: RelayMetrics

    func handle(_ request: Request, context: RequestContext, next: any Responder) throws -> Reply {
        let decision = self.buckets.take(key: self.key(of: request, context: context))
        var headers: HTTPFields = [
            Self.policyField: "\"\(self.name)\";q=\(self.buckets.burst);w=\(self.buckets.windowSeconds)",
            Self.stateField: "\"\(self.name)\";r=\(decision.remaining);t=\(decision.resetSeconds)",
        ]
        guard decision.allowed else {
            self.metrics.rateLimited.increment()
            headers[.retryAfter] = String(decision.retryAfterSeconds)
            throw HTTPError(.tooManyRequests, "rate limit exceeded; retry in \(decision.retryAfterSeconds) s", headers: headers)
        }
        // Every answer carries the headers, also a refusal by a later filter or the handler.
        return next.respond(to: request, context: context).adding(headers)
    }

    private static let policyField = HTTPField.Name("RateLimit-Policy")!
    private static let stateField = HTTPField.Name("RateLimit")!

    private func key(of request: Request, context: RequestContext) -> String {
        switch self.key {
        case .ip:
            return context.peerAddress
        case .token:
            return AuthFilter.credential(of: request, isUpgrade: context.takesCredentialInURL) ?? ""
        case .header(let name):
            return request.headers.first(name) ?? ""
        }
    }
}

extension RateLimitFilter {
    /// `N/s`, `N/m` or `N/h`.
    struct Rate {
        let perSecond: Double

        init?(_ text: String) {
            let parts = text.split(separator: "/")
            guard parts.count == 2, let count = Double(parts[0].trimmingCharacters(in: .whitespaces)), count > 0, count.isFinite else {
                return nil
            }
            switch parts[1].trimmingCharacters(in: .whitespaces) {
            case "s": self.perSecond = count
            case "m": self.perSecond = count / 60
            case "h": self.perSecond = count / 3600
            default: return nil
            }
        }
    }
}
