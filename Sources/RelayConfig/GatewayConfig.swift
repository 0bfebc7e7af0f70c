/// The whole deployment, as declared by one config file.
public struct GatewayConfig: Sendable {
    /// The config file, exactly as the caller named it.
    public var file: String
    public var relay: RelaySettings
    /// In file order.
    public var tokens: [TokenDeclaration]
    /// In file order.
    public var filters: [FilterDeclaration]
    /// In file order; never empty.
    public var listeners: [ListenerConfig]
    /// Nil for a single node with everything in memory.
    public var cluster: ClusterConfig?

    public init(
        file: String, relay: RelaySettings = RelaySettings(), tokens: [TokenDeclaration] = [],
        filters: [FilterDeclaration] = [], listeners: [ListenerConfig], cluster: ClusterConfig? = nil
    ) {
        self.cluster = cluster
        self.file = file
        self.relay = relay
        self.tokens = tokens
        self.filters = filters
        self.listeners = listeners
    }

    /// The token declared under `name`, if any.
    public func token(named name: String) -> TokenDeclaration? {
        tokens.first { $0.name == name }
    }

    /// The filter declared under `name`, if any.
    public func filter(named name: String) -> FilterDeclaration? {
        filters.first { $0.name == name }
    }
}
