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
    public let relay: Relay<SubscriberConnection>
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
    /// Turns accepted subscriber requests into live connections.
    var subscribers: SubscriberHub
    /// The gateway's clock (``Gateway/clock``).
    public let clock: any GatewayClock
    /// The listener whose router the handler is built for.
    public internal(set) var listenerName = ""
    /// That listener's `max_connections`, if it has one.
    var connectionSlots: ConnectionSlots?
}

/// A handler type the config can name in a route's `handler:`. `make` runs once per route that
/// names it (again on a reload); the handler it returns answers each request.
///
/// ```swift
/// enum Hello {
///     static let plugin = HandlerPlugin(name: "hello", defaultMethod: .get) { environment in
///         { request, context in
///             let user = context.identity?.userID.map(String.init) ?? "world"
///             return .now(.json(.ok, ByteBuffer(string: #"{"hello":"\#(user)"}"#)))
///         }
///     }
/// }
/// ```
///
/// To publish, a handler calls `environment.bus.publishImmediately(...)` (a single node) and
/// else awaits `environment.bus.publish(...)` inside `Reply.async`, as the `publish` handler does.
public struct HandlerPlugin: NamedPlugin {
    public let name: String
    public let origin: String
    /// The method a route gets when it names none.
    public let defaultMethod: HTTPRequest.Method
    /// Route parameters the path must declare, e.g. `client_id` for `/ws/{client_id}`.
    public let requiredParameters: [String]
    /// Whether the handler accepts WebSocket upgrades: the built-in `subscribe` handler's (turning
    /// an upgrade into a subscriber needs the gateway's subscriber hub, which plugins do not reach yet).
    public let servesWebSocket: Bool
    /// Whether the handler answers with an event stream (the built-in `events` handler): filters
    /// then take a `?token=` credential, as on a WebSocket handshake.
    public let servesEventStream: Bool
    public let make: @Sendable (HandlerEnvironment) -> RelayHandler

    public init(
        name: String,
        defaultMethod: HTTPRequest.Method,
        requiredParameters: [String] = [],
        servesWebSocket: Bool = false,
        servesEventStream: Bool = false,
        origin: String = #fileID,
        make: @escaping @Sendable (HandlerEnvironment) -> RelayHandler
    ) {
        self.name = name
        self.origin = origin
        self.defaultMethod = defaultMethod
        self.requiredParameters = requiredParameters
        self.servesWebSocket = servesWebSocket
        self.servesEventStream = servesEventStream
        self.make = make
    }

    /// Whether it opens subscriber connections: a reload checks those again with the route's filters.
    var servesSubscribers: Bool { self.servesWebSocket || self.servesEventStream }
}

/// The handlers a route's `handler:` can name.
public typealias HandlerRegistry = PluginRegistry<HandlerPlugin>
