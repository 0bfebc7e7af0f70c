/// One listening socket and its route table.
public struct ListenerConfig: Sendable {
    /// Unique; `listener<index>` when not given.
    public var name: String
    /// Default `127.0.0.1`.
    public var host: String
    /// 0...65535; 0 picks any free port.
    public var port: Int
    /// `public_url`, starting with `ws://` or `wss://`: the base of URLs handed out by `register`.
    public var publicURL: String?
    /// `max_connections`, at least 1 when given.
    public var maxConnections: Int?
    /// `tls`: serve HTTPS and `wss://`; nil for plain HTTP.
    public var tls: ListenerTLS?
    /// Run first, for every route of this listener, in order.
    public var filters: [FilterReference]
    /// Never empty.
    public var routes: [RouteConfig]
    /// Of the listener entry, e.g. `listeners[0]`.
    public var location: ConfigLocation

    public init(
        name: String, host: String = "127.0.0.1", port: Int, publicURL: String? = nil, maxConnections: Int? = nil,
        tls: ListenerTLS? = nil, filters: [FilterReference] = [], routes: [RouteConfig], location: ConfigLocation
    ) {
        self.name = name
        self.host = host
        self.port = port
        self.publicURL = publicURL
        self.maxConnections = maxConnections
        self.tls = tls
        self.filters = filters
        self.routes = routes
        self.location = location
    }
}

extension ListenerConfig {
    static let allowedKeys = ["name", "host", "port", "public_url", "max_connections", "tls", "filters", "routes"]

    init(reading mapping: ConfigMapping, index: Int, declared: Set<String>) throws(ConfigError) {
        try mapping.rejectUnknownKeys(allowed: Self.allowedKeys)
        name = try mapping.node("name")?.nonEmptyString() ?? "listener\(index)"
        host = try mapping.node("host")?.nonEmptyString() ?? "127.0.0.1"
        port = try mapping.required("port").int(in: 0...65535)
        if let urlNode = mapping.node("public_url") {
            let url = try urlNode.string()
            guard url.hasPrefix("ws://") || url.hasPrefix("wss://") else {
                throw urlNode.location.error("must start with ws:// or wss://\(urlNode.gotSuffix)")
            }
            publicURL = url
        }
        maxConnections = try mapping.node("max_connections")?.int(atLeast: 1)
        tls = try mapping.node("tls").map { node throws(ConfigError) in try ListenerTLS(reading: node) }
        filters =
            try mapping.node("filters").map { list throws(ConfigError) in
                try FilterReference.readList(list, declared: declared)
            } ?? []
        routes = try Self.readRoutes(mapping.required("routes"), declared: declared)
        location = mapping.location
    }

    /// A non-empty list of routes. Two routes for the same path and method are refused by the
    /// route table, once every method is known (a route may take its handler's default).
    private static func readRoutes(_ node: ConfigNode, declared: Set<String>) throws(ConfigError) -> [RouteConfig] {
        let items = try node.list()
        guard !items.isEmpty else { throw node.location.error("must list at least one route") }
        return try items.map { item throws(ConfigError) in try RouteConfig(reading: item, declared: declared) }
    }

    /// Reads `listeners:`: a non-empty list with unique names and no two listeners on the same
    /// host and non-zero port.
    static func readAll(_ node: ConfigNode, declared: [FilterDeclaration]) throws(ConfigError) -> [ListenerConfig] {
        let items = try node.list()
        guard !items.isEmpty else { throw node.location.error("must list at least one listener") }
        let names = Set(declared.map(\.name))
        var listeners: [ListenerConfig] = []
        for (index, item) in items.enumerated() {
            let mapping = try item.mapping()
            let listener = try ListenerConfig(reading: mapping, index: index, declared: names)
            if let earlier = listeners.first(where: { $0.name == listener.name }) {
                let location = mapping.node("name")?.location ?? listener.location
                throw location.error("duplicate listener name \"\(listener.name)\" (also \(earlier.location.keyPath))")
            }
            if listener.port != 0,
                let earlier = listeners.first(where: { $0.host == listener.host && $0.port == listener.port })
            {
                throw try mapping.required("port").location.error(
                    "\(listener.host):\(listener.port) is already used by listener \"\(earlier.name)\""
                )
            }
            listeners.append(listener)
        }
        return listeners
    }
}
