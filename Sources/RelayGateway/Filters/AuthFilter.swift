import RelayConfig
import RelayHTTP

/// `type: auth`: the request must carry `Authorization: Bearer <secret>` for one of the named
/// `tokens`; a WebSocket upgrade may instead pass `?token=<secret>` (browsers cannot set headers
/// on WebSockets). Secrets are compared in constant time and never logged or echoed.
struct AuthFilter: RequestFilter {
    static let plugin = FilterPlugin(type: "auth", readsTokens: true) { declaration, environment throws(ConfigError) in
        let options = declaration.options
        try options.rejectUnknownKeys(allowed: ["type", "tokens"])
        let list = try options.required("tokens").list()
        guard !list.isEmpty else {
            throw try options.required("tokens").location.error("list at least one token name")
        }
        var secrets: [[UInt8]] = []
        for node in list {
            secrets.append(Array(try environment.secret(named: node).utf8))
        }
        return AuthFilter(secrets: secrets, metrics: environment.metrics)
    }

    let secrets: [[UInt8]]
    let metrics: RelayMetrics

    func handle(_ request: Request, context: RequestContext, next: any Responder) throws -> Reply {
        guard let presented = Self.credential(of: request, isUpgrade: context.takesCredentialInURL) else {
            self.metrics.authFailures.increment()
            throw HTTPError(.unauthorized, "missing bearer token", headers: [.wwwAuthenticate: "Bearer"])
        }
        guard self.accepts(presented) else {
            self.metrics.authFailures.increment()
            throw HTTPError(.unauthorized, "invalid token", headers: [.wwwAuthenticate: #"Bearer error="invalid_token""#])
        }
        return next.respond(to: request, context: context)
    }

    /// Whether `presented` is one of the secrets; every secret is compared, in constant time.
    func accepts(_ presented: String) -> Bool {
        let bytes = Array(presented.utf8)
        var matched = false
        for secret in self.secrets {
            matched = Self.constantTimeEquals(bytes, secret) || matched
        }
        return matched
    }

    /// The bearer credential of a request: the `Authorization` header, or on an upgrade `?token=`.
    static func credential(of request: Request, isUpgrade: Bool) -> String? {
        if let header = request.headers.first(.authorization) {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                return String(parts[1]).trimmingCharacters(in: .whitespaces)
            }
            return nil
        }
        if isUpgrade, let token = request.queryValue("token"), !token.isEmpty {
            return token
        }
        return nil
    }

    /// Compares without an early exit, so timing does not tell how much of a guess was right.
    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard !rhs.isEmpty else { return false }
        var difference = UInt8(lhs.count == rhs.count ? 0 : 1)
        for index in 0..<lhs.count {
            difference |= lhs[index] ^ rhs[index % rhs.count]
        }
        return difference == 0 && !lhs.isEmpty
    }
}

extension AuthFilter: SubscriberRecheck {
    /// The token its handshake presented must still be one of the filter's.
    func recheck(_ subscriber: OpenSubscriber) async -> Readmission {
        guard let presented = Self.credential(of: subscriber.handshake, isUpgrade: true), self.accepts(presented) else {
            return .refuse("token no longer accepted")
        }
        return .keep
    }
}

extension AuthFilter: CustomStringConvertible {
    /// Never the secrets, whoever prints the filter.
    var description: String { "AuthFilter(\(self.secrets.count) tokens)" }
}
