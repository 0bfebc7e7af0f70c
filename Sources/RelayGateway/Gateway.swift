import Logging
import NIOCore
import RelayConfig
import RelayCore
import RelayHTTP
import ServiceLifecycle
import UnixSignals

/// A whole deployment: one relay shared by every listener of the config, each listener an
/// `HTTPServer` of the engine (RelayHTTP) serving its route table.
///
/// ```swift
/// let config = try ConfigLoader.load(file: "config/relay.yaml")
/// let gateway = try Gateway(config: config, logger: Logger(label: "relay"))
/// try await gateway.run()
/// ```
///
/// With plugins of one's own (see ``Plugins``):
///
/// ```swift
/// let plugins = try Plugins.builtIn.adding(filters: [HMACSignatureFilter.plugin])
/// let gateway = try Gateway(config: config, plugins: plugins, logger: logger)
/// ```
public struct Gateway: Sendable {
    public let config: GatewayConfig
    public let relay: Relay<SubscriberConnection>
    /// Per-topic history for resume; nil when `relay.history` is off.
    public let history: TopicHistory<PublishedMessage>?
    private let envelopes = ClientDemand()
    private let eventStreams = ClientDemand()
    public let routeTable: RouteTable
    /// The counters the `metrics` handler exposes.
    public let metrics = RelayMetrics()
    /// Set when graceful shutdown begins; requests are then answered 503.
    public let drain = DrainState()
    /// The shared backend when the config has a `cluster:` section; nil on a single node.
    public let cluster: (any ClusterBackend)?
    /// Config problems that do not stop the gateway (an expired certificate), for the caller to show.
    public let warnings: [ConfigError]
    /// The TLS credentials of each listener with `tls:`, by listener name, as started.
    private let tls: [String: TLSCredentials]
    /// Applies a new config while the gateway runs (``ConfigReloader/reload(to:)``).
    public let reloader: ConfigReloader
    /// The filters, handlers and services it was built from.
    public let plugins: Plugins
    /// What token expiry, keepalive, registration TTL, idempotency and history windows and rate
    /// limits read the time from (``SystemClock`` unless a test gives a ``ManualClock``).
    public let clock: any GatewayClock
    private let logger: Logger

    /// Validates everything (handler and filter names, filter options) before anything binds.
    /// - Parameters:
    ///   - plugins: what the config may name: the built-in plugins, and any of the caller's.
    ///   - cluster: the backend built for the config's `cluster:` section, already connected;
    ///     nil for a single node.
    ///   - clock: the time the gateway's windows and expiries are measured with.
    public init(
        config: GatewayConfig, plugins: Plugins = .builtIn, cluster: (any ClusterBackend)? = nil, logger: Logger,
        clock: any GatewayClock = SystemClock.system
    ) throws(ConfigError) {
        self.config = config
        self.plugins = plugins
        self.cluster = cluster
        self.logger = logger
        self.clock = clock
        self.routeTable = try RouteTable(config: config, plugins: plugins, logger: logger, metrics: self.metrics, clock: clock)
        var tls: [String: TLSCredentials] = [:]
        for listener in config.listeners {
            if let settings = listener.tls {
                tls[listener.name] = try TLSCredentials(settings)
            }
        }
        self.tls = tls
        self.warnings = config.listeners.flatMap { tls[$0.name]?.warnings ?? [] }
        self.reloader = ConfigReloader(
            config: config, routeTable: self.routeTable, plugins: plugins, metrics: self.metrics, logger: logger, clock: clock
        )
        let settings = config.relay
        self.relay = Relay(settings: Self.relaySettings(settings), clock: clock)
        // In a cluster every stream has the cluster's epoch: offsets come from its outbox.
        let makeEpoch: @Sendable () -> String
        if let epoch = cluster?.epoch {
            makeEpoch = { epoch }
        } else {
            makeEpoch = TopicHistory<PublishedMessage>.randomEpoch
        }
        let history = settings.history
        self.history =
            history.isEnabled
            ? TopicHistory(
                settings: HistorySettings(size: history.size, ttl: history.ttl, maxBytes: history.maxBytes), makeEpoch: makeEpoch, clock: clock)
            : nil
    }

    /// The relay core's settings for the config's `relay:` section.
    static func relaySettings(_ settings: RelaySettings) -> Relay<SubscriberConnection>.Settings {
        .init(
            defaultTopics: Set(settings.defaultTopics),
            registrationTTL: settings.registrationTTL,
            topicRules: TopicRules(maxTopicsPerClient: settings.maxTopicsPerClient, maxTopicLength: settings.maxTopicLength),
            // With history on, a disconnected registration also keeps its addressed messages.
            parkedMessages: settings.history.isEnabled ? settings.sendQueue : 0,
            parkedBytes: settings.history.maxBytes
        )
    }

    /// What each new HTTP connection is held to, from `relay:`.
    static func connectionLimits(_ settings: RelaySettings) -> ConnectionLimits {
        ConnectionLimits(
            handshakeTimeout: TimeAmount(settings.handshakeTimeout),
            idleTimeout: settings.idleTimeout > .zero ? TimeAmount(settings.idleTimeout) : nil,
            maxBodyBytes: settings.maxMessageBytes,
            maxFrameSize: min(settings.maxMessageBytes, Int(UInt32.max))
        )
    }

    /// A single node's idempotency keys; nil when the window is 0.
    static func idempotencyWindow(_ settings: RelaySettings, clock: any GatewayClock) -> IdempotencyWindow? {
        guard settings.idempotencyWindow > .zero else { return nil }
        return IdempotencyWindow(window: settings.idempotencyWindow, maxKeys: settings.idempotencyMaxKeys, clock: clock)
    }

    /// Serves until a shutdown signal arrives or the task is cancelled.
    /// - Parameters:
    ///   - reloadOnSIGHUP: re-read this config file on each SIGHUP and apply it (see ``ConfigReloader``);
    ///     `onReload` hears each outcome.
    ///   - onListening: called once per listener with the port it bound (useful with `port: 0`).
    public func run(
        gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint],
        reloadOnSIGHUP file: String? = nil,
        onListening: @escaping @Sendable (ListenerConfig, Int) async -> Void = { _, _ in },
        onReload: @escaping @Sendable (Result<ReloadSummary, ConfigError>) -> Void = { _ in }
    ) async throws {
        let directory = RouteDirectory(routeTable: self.routeTable)
        let publisher = Publisher(relay: self.relay, history: self.history, envelopes: self.envelopes, eventStreams: self.eventStreams)
        let registrations = self.cluster?.registrations ?? LocalRegistrations()
        let recentUnregisters = RecentUnregisters()
        let subscribers = SubscriberHub(
            relay: self.relay, registrations: registrations, history: self.history, envelopes: self.envelopes, eventStreams: self.eventStreams,
            logger: self.logger, metrics: self.metrics, clock: self.clock, settings: self.config.relay
        )
        let environment = HandlerEnvironment(
            relay: self.relay,
            settings: self.config.relay,
            metrics: self.metrics,
            drain: self.drain,
            routes: directory,
            publisher: publisher,
            bus: self.cluster?.bus ?? LocalBus(publisher: publisher, idempotency: Self.idempotencyWindow(self.config.relay, clock: self.clock)),
            registrations: registrations,
            recentUnregisters: recentUnregisters,
            subscribers: subscribers,
            clock: self.clock
        )
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: RegistrationSweeper(relay: self.relay))]
        // A cluster node listens once its history is filled (see ``LiveListeners``).
        let backfilled = Gate(open: self.cluster == nil)
        if let cluster = self.cluster {
            services.append(
                .init(
                    service: ClusterFollower(
                        backend: cluster,
                        delivery: NodeDelivery(publisher: publisher, relay: self.relay, recentUnregisters: recentUnregisters, backfilled: backfilled),
                        replayingSince: self.config.relay.history.isEnabled ? self.config.relay.history.ttl : .zero
                    )
                )
            )
        }
        if let history = self.history {
            services.append(.init(service: HistoryTrimmer(history: history)))
        }
        let serviceEnvironment = ServiceEnvironment(
            config: self.config, bus: environment.bus, metrics: self.metrics, logger: self.logger, clock: self.clock)
        for plugin in self.plugins.services {
            // A plugin's one-off job may end without ending the gateway.
            services.append(.init(service: PluginService(plugin: plugin, environment: serviceEnvironment), successTerminationBehavior: .ignore))
        }
        let settings = self.config.relay
        let metrics = self.metrics
        let baseLogger = self.logger
        // Also how a reload builds the listeners it adds. The connection limits come with the
        // content (``connectionLimits(_:)``), so a reload can change them.
        let makeServer: ConfigReloader.ServerMaker = { listener, content in
            var logger = baseLogger
            logger[metadataKey: "listener"] = .string(listener.name)
            var configuration = HTTPServer.Configuration(host: listener.host, port: listener.port)
            configuration.onTLSFailure = { metrics.tlsFailed($0) }
            return HTTPServer(configuration: configuration, content: content, logger: logger) { port in
                directory.listenerBound(listener.name, port: port)
                await onListening(listener, port)
            }
        }
        var contents: [String: ListenerContent] = [:]
        var slots: [String: ConnectionSlots] = [:]
        var servers: [(name: String, server: HTTPServer)] = []
        for listener in self.routeTable.listeners {
            let name = listener.config.name
            slots[name] = listener.config.maxConnections.map(ConnectionSlots.init)
            let content = ListenerContent(
                router: listener.makeRouter(environment: environment, connectionSlots: slots[name]), tls: self.tls[name]?.context,
                limits: Self.connectionLimits(settings)
            )
            contents[name] = content
            servers.append((name, makeServer(listener.config, content)))
        }
        let listeners = LiveListeners(servers, after: backfilled)
        services.append(.init(service: listeners))
        self.reloader.started(
            ConfigReloader.Serving(environment: environment, contents: contents, slots: slots, listeners: listeners, makeServer: makeServer)
        )
        if let file {
            services.append(.init(service: ReloadOnSignal(file: file, reloader: self.reloader, logger: self.logger, onReload: onReload)))
        }
        services.append(.init(service: DrainWatcher(state: self.drain)))
        var configuration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: gracefulShutdownSignals, logger: self.logger
        )
        configuration.maximumGracefulShutdownDuration = self.config.relay.shutdownTimeout
        let group = ServiceGroup(configuration: configuration)
        try await group.run()
    }
}
