import Hummingbird
import Logging
import RelayConfig

/// A filter instance: a middleware that runs ahead of the relay handlers, on plain HTTP routes and
/// on WebSocket upgrades alike. It may answer by itself (preflight, 401, 403, 429) or call `next`.
public typealias RelayFilter = any MiddlewareProtocol<Request, Response, RelayRequestContext>

/// What a filter is built from, besides its own options.
public struct FilterEnvironment: Sendable {
    /// The top-level `tokens` (names and secrets).
    public let tokens: [TokenDeclaration]
    public let logger: Logger
}

/// A filter type the config can name in a filter's `type:`.
///
/// Adding one is one file (its options, middleware and `plugin`) and one line in
/// ``FilterRegistry/builtIn``. `make` reads and validates the declaration's options and throws a
/// ``ConfigError`` naming the filter, the key and the line.
public struct FilterPlugin: Sendable {
    public let type: String
    public let make: @Sendable (FilterDeclaration, FilterEnvironment) throws(ConfigError) -> RelayFilter

    public init(type: String, make: @escaping @Sendable (FilterDeclaration, FilterEnvironment) throws(ConfigError) -> RelayFilter) {
        self.type = type
        self.make = make
    }
}

/// Filter types by name.
public struct FilterRegistry: Sendable {
    private let plugins: [String: FilterPlugin]

    public init(_ plugins: [FilterPlugin]) {
        self.plugins = Dictionary(plugins.map { ($0.type, $0) }, uniquingKeysWith: { _, last in last })
    }

    public static let builtIn = FilterRegistry([
        CORSFilter.plugin,
        LogFilter.plugin,
        RateLimitFilter.plugin,
        AuthFilter.plugin,
    ])

    public subscript(type: String) -> FilterPlugin? { self.plugins[type] }

    public var types: [String] { self.plugins.keys.sorted() }
}
