import RelayGateway

/// This package's plugins, for `RelayGatewayCLI.main(adding:)` or `Plugins.builtIn.adding(...)`.
public enum WebhookPlugins {
    public static let all = PluginList(filters: [HMACSignatureFilter.plugin, ClientVersionFilter.plugin], handlers: [WebhookHandler.plugin])
}
