/// A package's plugins, to add to the built-in ones: what a plugin package exports, for
/// `Plugins.builtIn.adding(_:)` or `RelayGatewayCLI.main(adding:)`.
///
/// ```swift
/// public enum WebhookPlugins {
///     public static let all = PluginList(filters: [HMACSignatureFilter.plugin], handlers: [WebhookHandler.plugin])
/// }
/// ```
public struct PluginList: Sendable {
    public var filters: [FilterPlugin]
    public var handlers: [HandlerPlugin]
    public var services: [ServicePlugin]

    public init(filters: [FilterPlugin] = [], handlers: [HandlerPlugin] = [], services: [ServicePlugin] = []) {
        self.filters = filters
        self.handlers = handlers
        self.services = services
    }
}

extension Plugins {
    /// These plugins and those of `list`; a name already taken is a ``PluginConflict`` naming both.
    public func adding(_ list: PluginList) throws(PluginConflict) -> Plugins {
        try self.adding(filters: list.filters, handlers: list.handlers, services: list.services)
    }
}
