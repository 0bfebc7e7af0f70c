/// Everything a gateway can be built from: the filter types and handlers a config may name, and
/// the services that run beside the listeners. `builtIn` is what ships; a user's package adds its
/// own with `adding(...)`, and `Gateway(config:plugins:logger:)` (or `RelayGatewayCLI.main`)
/// takes the result.
///
/// ```swift
/// let plugins = try Plugins.builtIn.adding(
///     filters: [HMACSignatureFilter.plugin],
///     handlers: [WebhookHandler.plugin]
/// )
/// let gateway = try Gateway(config: config, plugins: plugins, logger: logger)
/// ```
public struct Plugins: Sendable {
    public let filters: FilterRegistry
    public let handlers: HandlerRegistry
    public let services: [ServicePlugin]

    /// Throws when two filters, two handlers or two services share a name.
    public init(filters: [FilterPlugin], handlers: [HandlerPlugin], services: [ServicePlugin] = []) throws(PluginConflict) {
        self.filters = try FilterRegistry(filters)
        self.handlers = try HandlerRegistry(handlers)
        _ = try PluginRegistry(services)
        self.services = services
    }

    /// These plugins and `filters`, `handlers` and `services` besides; a name already taken (by a
    /// built-in plugin, say) is a ``PluginConflict`` naming both.
    public func adding(
        filters: [FilterPlugin] = [], handlers: [HandlerPlugin] = [], services: [ServicePlugin] = []
    ) throws(PluginConflict) -> Plugins {
        try Plugins(filters: self.filters.all + filters, handlers: self.handlers.all + handlers, services: self.services + services)
    }

    /// The plugins that ship with the gateway.
    public static let builtIn = Plugins(checked: { () throws(PluginConflict) -> Plugins in
        try Plugins(
            filters: [CORSFilter.plugin, LogFilter.plugin, RateLimitFilter.plugin, AuthFilter.plugin, JWTFilter.plugin],
            handlers: [
                HealthHandler.plugin, RegisterHandler.plugin, UnregisterHandler.plugin, PublishHandler.plugin,
                SubscribeHandler.plugin, EventsHandler.plugin, MetricsHandler.plugin, StatsHandler.plugin, ConsoleHandler.plugin,
            ]
        )
    })

    private init(checked make: () throws(PluginConflict) -> Plugins) {
        do {
            self = try make()
        } catch {
            // The built-in names are fixed here: a clash is a bug caught by the first test.
            fatalError("\(error)")
        }
    }
}
