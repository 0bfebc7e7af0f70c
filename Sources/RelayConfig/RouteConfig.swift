/// One route of a listener: a path (and optionally a method) served by a named handler.
public struct RouteConfig: Sendable {
    /// As written; starts with `/` and may hold parameters such as `{client_id}`.
    public var path: String
    /// The path parsed and normalised (see ``RoutePath``).
    public var routePath: RoutePath
    /// Uppercased HTTP method, or nil for any method.
    public var method: String?
    /// The handler's name, checked against the handler registry by the gateway.
    public var handler: String
    public var handlerLocation: ConfigLocation
    /// Run after the listener's filters, in order.
    public var filters: [FilterReference]
    /// Of the route entry, e.g. `listeners[0].routes[2]`.
    public var location: ConfigLocation

    public init(
        path: String, routePath: RoutePath, method: String?, handler: String, handlerLocation: ConfigLocation,
        filters: [FilterReference], location: ConfigLocation
    ) {
        self.path = path
        self.routePath = routePath
        self.method = method
        self.handler = handler
        self.handlerLocation = handlerLocation
        self.filters = filters
        self.location = location
    }
}

extension RouteConfig {
    static let allowedKeys = ["path", "method", "handler", "filters"]

    init(reading node: ConfigNode, declared: Set<String>) throws(ConfigError) {
        let mapping = try node.mapping()
        try mapping.rejectUnknownKeys(allowed: Self.allowedKeys)
        let pathNode = try mapping.required("path")
        path = try pathNode.string()
        do throws(RoutePath.Invalid) {
            routePath = try RoutePath(path)
        } catch {
            throw pathNode.location.error("\(error.message)\(pathNode.gotSuffix)")
        }
        if let methodNode = mapping.node("method") {
            let method = try methodNode.string().uppercased()
            guard !method.isEmpty, method.allSatisfy({ $0.isASCII && $0.isLetter }) else {
                throw methodNode.location.error("must be an HTTP method such as GET or POST\(methodNode.gotSuffix)")
            }
            self.method = method
        }
        let handlerNode = try mapping.required("handler")
        handler = try handlerNode.nonEmptyString()
        handlerLocation = handlerNode.location
        filters =
            try mapping.node("filters").map { list throws(ConfigError) in
                try FilterReference.readList(list, declared: declared)
            } ?? []
        location = node.location
    }
}
