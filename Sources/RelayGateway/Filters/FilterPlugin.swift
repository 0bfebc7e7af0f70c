import Logging
import RelayConfig
import RelayCore
import RelayHTTP

/// A filter instance: it runs ahead of the relay handlers, on plain HTTP routes and on WebSocket
/// upgrades alike, on the connection's event loop. It may answer by itself (preflight, 401, 403,
/// 429) or pass the request on to `next`.
public typealias RelayFilter = any RequestFilter

/// What a filter is built from, besides its own options.
public struct FilterEnvironment: Sendable {
    /// The top-level `tokens` (names and secrets).
    public let tokens: [TokenDeclaration]
    public let logger: Logger
    /// Where filters count what they refuse, and where a plugin makes its own metrics
    /// (``RelayMetrics/makeCounter(name:help:labels:)``).
    public let metrics: RelayMetrics
    /// The gateway's clock: what a filter with windows or expiries (a rate limit, token expiry)
    /// reads the time from, so a test can move it (``ManualClock``).
    public let clock: any GatewayClock

    public init(tokens: [TokenDeclaration], logger: Logger, metrics: RelayMetrics, clock: any GatewayClock = SystemClock.system) {
        self.tokens = tokens
        self.logger = logger
        self.metrics = metrics
        self.clock = clock
    }

    /// The secret of the token that `node` names (a name declared under `tokens:`); a name not
    /// declared there is an error at `node` that lists the declared ones, never their secrets.
    public func secret(named node: ConfigNode) throws(ConfigError) -> String {
        let name = try node.nonEmptyString()
        guard let token = self.tokens.first(where: { $0.name == name }) else {
            let declared = self.tokens.map(\.name).joined(separator: ", ")
            throw node.location.error("unknown token \"\(name)\" (declared in tokens: \(declared.isEmpty ? "none" : declared))")
        }
        return token.secret
    }
}

/// A filter type the config can name in a filter's `type:`.
///
/// `make` reads and validates the declaration's options (with the typed reads of ``ConfigNode``,
/// which throw `file:line: key.path: message`) and returns the filter. It runs at start-up, in
/// `check`, and on each reload that changes the filter's declaration.
///
/// ```swift
/// struct RequireHeader: RequestFilter {
///     static let plugin = FilterPlugin(type: "require_header") { declaration, environment throws(ConfigError) in
///         let options = declaration.options
///         try options.rejectUnknownKeys(allowed: ["type", "name"])
///         return RequireHeader(name: try options.required("name").nonEmptyString())
///     }
///
///     let name: String
///
///     func handle(_ request: Request, context: RequestContext, next: any Responder) throws -> Reply {
///         guard let field = HTTPField.Name(self.name), request.headers[field] != nil else {
///             throw HTTPError(.badRequest, "missing header \(self.name)")
///         }
///         return next.respond(to: request, context: context)
///     }
/// }
/// ```
public struct FilterPlugin: NamedPlugin {
    /// The name a filter's `type:` uses.
    public let name: String
    public let origin: String
    public let make: @Sendable (FilterDeclaration, FilterEnvironment) throws(ConfigError) -> RelayFilter
    /// Whether its filters read `tokens:` (a reload then rebuilds them when any token changed;
    /// other filters whose declaration is unchanged are kept, with their state).
    public let readsTokens: Bool
    /// Whether its filters read files their options name (keys, say): every reload rebuilds them,
    /// so that it reads the files again.
    public let readsFiles: Bool

    public init(
        type: String, readsTokens: Bool = false, readsFiles: Bool = false, origin: String = #fileID,
        make: @escaping @Sendable (FilterDeclaration, FilterEnvironment) throws(ConfigError) -> RelayFilter
    ) {
        self.name = type
        self.origin = origin
        self.readsTokens = readsTokens
        self.readsFiles = readsFiles
        self.make = make
    }
}

/// The filter types a filter's `type:` can name.
public typealias FilterRegistry = PluginRegistry<FilterPlugin>
