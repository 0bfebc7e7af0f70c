import HTTPTypes
import RelayConfig
import RelayCore
import RelayHTTP

/// A relay handler answering one request, on the connection's event loop: at once (`.now`), or
/// through `Reply.async` when it must wait (a cluster's database). A thrown `HTTPError` is the
/// answer.
public typealias RelayHandler = @Sendable (Request, RequestContext) throws -> Reply

/// What a handler is built from.
public struct HandlerEnvironment: Sendable {
    public let relay: Relay<WebSocketSubscriber>
    /// As at start, or as the last reload set them (for handlers built from then on).
    public internal(set) var settings: RelaySettings
    public let metrics: RelayMetrics
    /// Set once the gateway is shutting down.
    public let drain: DrainState
    /// Where every handler is served: subscribe URLs for `register`, links for the console.
    public let routes: RouteDirectory
    /// The publish path (history, envelopes, fan-out).
    public let publisher: Publisher
    /// Where publishes and unregisters go: this node's fan-out, or a cluster's bus.
    public let bus: any MessageBus
    /// Registrations beyond this node (``LocalRegistrations`` on a single node).
    public let registrations: any RegistrationStore
    /// Ids a cluster's bus unregistered lately.
    let recentUnregisters: RecentUnregisters
    /// Turns accepted handshakes into live subscribers.
    var sessions: SubscriberSessions
    /// The listener whose router the handler is built for.
    public internal(set) var listenerName = ""
    /// That listener's `max_connections`, if it has one.
    var connectionSlots: ConnectionSlots?
}

/// A handler type the config can name in a route's `handler:`.
///
/// Adding one is one file (its `plugin`) and one line in `HandlerRegistry.builtIn`.
public struct HandlerPlugin: NamedPlugin {
    public let name: String
    /// The method a route gets when it names none.
    public let defaultMethod: HTTPRequest.Method
    /// Route parameters the path must declare, e.g. `client_id` for `/ws/{client_id}`.
    public let requiredParameters: [String]
    /// Whether the handler accepts WebSocket upgrades (the `subscribe` handler).
    public let servesWebSocket: Bool
    public let make: @Sendable (HandlerEnvironment) -> RelayHandler

    public init(
        name: String,
        defaultMethod: HTTPRequest.Method,
        requiredParameters: [String] = [],
        servesWebSocket: Bool = false,
        make: @escaping @Sendable (HandlerEnvironment) -> RelayHandler
    ) {
        self.name = name
        self.defaultMethod = defaultMethod
        self.requiredParameters = requiredParameters
        self.servesWebSocket = servesWebSocket
        self.make = make
    }
}

/// The handlers a route's `handler:` can name.
public typealias HandlerRegistry = PluginRegistry<HandlerPlugin>

extension PluginRegistry where Plugin == HandlerPlugin {
    public static let builtIn = HandlerRegistry([
        HealthHandler.plugin,
        RegisterHandler.plugin,
        UnregisterHandler.plugin,
        PublishHandler.plugin,
        SubscribeHandler.plugin,
        MetricsHandler.plugin,
        StatsHandler.plugin,
        ConsoleHandler.plugin,
    ])
}
