import HTTPTypes
import Logging
import RelayConfig
import RelayCore

/// The config turned into what the engine serves: per listener, its filters and its routes, each
/// route with its method, handler and filters, all names resolved and all options validated.
public struct RouteTable: Sendable {
    /// A built filter instance, shared by every route that names it.
    public struct Filter: Sendable {
        public let name: String
        public let type: String
        public let middleware: RelayFilter
        /// What it was built from, so a reload can tell whether it may be kept.
        let declaration: FilterDeclaration
        let plugin: FilterPlugin
    }

    public struct Route: Sendable {
        /// The path normalised (`/health/` is `/health`): what the router serves.
        public let path: String
        public let routePath: RoutePath
        public let method: HTTPRequest.Method
        public let handler: HandlerPlugin
        public let filters: [Filter]
    }

    public struct Listener: Sendable {
        public let config: ListenerConfig
        public let filters: [Filter]
        public let routes: [Route]
    }

    public let listeners: [Listener]
    /// Built from these, for the next reload to compare with.
    let tokens: [TokenDeclaration]
    /// The filters taken over from the table this one replaced, with their state.
    let keptFilters: Set<String>

    /// The first route serving WebSocket subscriptions, and its listener: `register` builds its URLs from it.
    public var subscribeRoute: (listener: ListenerConfig, route: Route)? {
        for listener in self.listeners {
            if let route = listener.routes.first(where: { $0.handler.servesWebSocket }) {
                return (listener.config, route)
            }
        }
        return nil
    }

    /// Resolves every handler and filter name of `config`; throws the first problem, located.
    /// - Parameter previous: the table being replaced (a reload): its filters whose declaration is
    ///   unchanged are kept, state and all (a rate limiter's buckets), except those that read
    ///   `tokens:` when a token changed and those that read files (``FilterPlugin/readsFiles``).
    public init(
        config: GatewayConfig,
        plugins: Plugins = .builtIn,
        logger: Logger,
        metrics: RelayMetrics = RelayMetrics(),
        clock: any GatewayClock = SystemClock.system,
        previous: RouteTable? = nil
    ) throws(ConfigError) {
        let registry = plugins.filters
        let handlers = plugins.handlers
        var built: [String: Filter] = [:]
        let environment = FilterEnvironment(tokens: config.tokens, logger: logger, metrics: metrics, clock: clock)
        let sameTokens =
            previous.map { previous in
                previous.tokens.count == config.tokens.count && zip(previous.tokens, config.tokens).allSatisfy { $0.declaresTheSame(as: $1) }
            } ?? false
        let kept = previous?.filtersByName ?? [:]
        var keptFilters: Set<String> = []
        for declaration in config.filters {
            guard let plugin = registry[declaration.type] else {
                throw declaration.typeLocation.error(
                    "unknown filter type \"\(declaration.type)\" (known: \(registry.names.joined(separator: ", ")))"
                )
            }
            if let old = kept[declaration.name], old.declaration.declaresTheSame(as: declaration), old.plugin.origin == plugin.origin,
                !old.plugin.readsFiles, !old.plugin.readsTokens || sameTokens
            {
                built[declaration.name] = old
                keptFilters.insert(declaration.name)
                continue
            }
            let middleware = try plugin.make(declaration, environment)
            built[declaration.name] = Filter(
                name: declaration.name, type: declaration.type, middleware: middleware, declaration: declaration, plugin: plugin
            )
        }
        func resolve(_ references: [FilterReference]) throws(ConfigError) -> [Filter] {
            var filters: [Filter] = []
            for reference in references {
                guard let filter = built[reference.name] else {
                    throw reference.location.error("undeclared filter \"\(reference.name)\"")
                }
                filters.append(filter)
            }
            return filters
        }

        var listeners: [Listener] = []
        for listener in config.listeners {
            var routes: [Route] = []
            // Per method and path shape (`/ws/{}`), the route that serves it: two routes the
            // router would take for one request are refused here, never at serve time.
            var served: [String: RouteConfig] = [:]
            var namesByShape: [String: (names: [String], route: RouteConfig)] = [:]
            for route in listener.routes {
                let resolved = try Self.route(route, handlers: handlers, filters: try resolve(route.filters))
                let shape = route.routePath.shape
                if let earlier = served.updateValue(route, forKey: "\(resolved.method.rawValue) \(shape)") {
                    let same = earlier.path == route.path ? "" : ", the same path as \(earlier.path)"
                    throw route.location.error(
                        "duplicate route \(resolved.method.rawValue) \(route.path)\(same) (also "
                            + "\(earlier.location.keyPath)\(Self.onLine(earlier.location)))"
                    )
                }
                let names = route.routePath.parameters
                if let earlier = namesByShape[shape], earlier.names != names {
                    throw route.location.error(
                        "\(route.path) is the same path as \(earlier.route.path) "
                            + "(\(earlier.route.location.keyPath)\(Self.onLine(earlier.route.location))) "
                            + "with its parameters named differently; name them alike"
                    )
                }
                namesByShape[shape] = (names, route)
                routes.append(resolved)
            }
            listeners.append(Listener(config: listener, filters: try resolve(listener.filters), routes: routes))
        }
        self.listeners = listeners
        self.tokens = config.tokens
        self.keptFilters = keptFilters

        if self.subscribeRoute == nil, let register = Self.firstRoute(named: "register", in: config) {
            throw register.handlerLocation.error("handler \"register\" hands out subscribe URLs, but no listener has a \"subscribe\" route")
        }
    }

    private static func route(_ route: RouteConfig, handlers: HandlerRegistry, filters: [Filter]) throws(ConfigError) -> Route {
        guard let handler = handlers[route.handler] else {
            throw route.handlerLocation.error("unknown handler \"\(route.handler)\" (known: \(handlers.names.joined(separator: ", ")))")
        }
        var method = handler.defaultMethod
        if let name = route.method {
            guard let parsed = HTTPRequest.Method(name) else {
                throw route.location.error("invalid method \"\(name)\"")
            }
            method = parsed
        }
        if handler.servesWebSocket && method != .get {
            throw route.location.error("handler \"\(handler.name)\" serves WebSocket upgrades, which use GET, not \(method.rawValue)")
        }
        for parameter in handler.requiredParameters where !route.routePath.parameters.contains(parameter) {
            throw route.location.error("handler \"\(handler.name)\" needs {\(parameter)} in its path, e.g. \"/ws/{\(parameter)}\"")
        }
        return Route(path: route.routePath.description, routePath: route.routePath, method: method, handler: handler, filters: filters)
    }

    private static func onLine(_ location: ConfigLocation) -> String {
        location.line.map { ", line \($0)" } ?? ""
    }

    private static func firstRoute(named handler: String, in config: GatewayConfig) -> RouteConfig? {
        config.listeners.lazy.flatMap(\.routes).first { $0.handler == handler }
    }
}

extension RouteTable: CustomStringConvertible {
    /// The table as `relay-gateway check` prints it.
    public var description: String {
        var lines: [String] = []
        for listener in self.listeners {
            let config = listener.config
            var heading = "listener \(config.name) on \(config.host):\(config.port)"
            if let tls = config.tls {
                heading += " (TLS \(tls.minVersion.rawValue)+, certificate \(tls.certificate))"
            }
            if let publicURL = config.publicURL {
                heading += " (public_url \(publicURL))"
            }
            lines.append(heading)
            if !listener.filters.isEmpty {
                lines.append("  filters: " + Self.describe(listener.filters))
            }
            let pathWidth = max(24, listener.routes.map(\.path.count).max() ?? 0)
            for route in listener.routes {
                var line =
                    "  " + Self.padded(route.method.rawValue, 7) + " " + Self.padded(route.path, pathWidth) + " "
                    + Self.padded(route.handler.name, 11)
                if !route.filters.isEmpty {
                    line += " filters: " + Self.describe(route.filters)
                }
                while line.hasSuffix(" ") { line.removeLast() }
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func describe(_ filters: [Filter]) -> String {
        filters.map { "\($0.name) (\($0.type))" }.joined(separator: ", ")
    }

    private static func padded(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
