import Logging
import RelayConfig
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
    /// Where filters count what they refuse.
    public let metrics: RelayMetrics
}

/// A filter type the config can name in a filter's `type:`.
///
/// Adding one is one file (its options, middleware and `plugin`) and one line in
/// `FilterRegistry.builtIn`. `make` reads and validates the declaration's options and throws a
/// ``ConfigError`` naming the filter, the key and the line.
public struct FilterPlugin: NamedPlugin {
    /// The name a filter's `type:` uses.
    public let name: String
    public let make: @Sendable (FilterDeclaration, FilterEnvironment) throws(ConfigError) -> RelayFilter
    /// Whether its filters read `tokens:` (a reload then rebuilds them when any token changed;
    /// other filters whose declaration is unchanged are kept, with their state).
    public let readsTokens: Bool

    public init(
        type: String, readsTokens: Bool = false,
        make: @escaping @Sendable (FilterDeclaration, FilterEnvironment) throws(ConfigError) -> RelayFilter
    ) {
        self.name = type
        self.readsTokens = readsTokens
        self.make = make
    }
}

/// The filter types a filter's `type:` can name.
public typealias FilterRegistry = PluginRegistry<FilterPlugin>

extension PluginRegistry where Plugin == FilterPlugin {
    public static let builtIn = FilterRegistry([
        CORSFilter.plugin,
        LogFilter.plugin,
        RateLimitFilter.plugin,
        AuthFilter.plugin,
    ])
}
