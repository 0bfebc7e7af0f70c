import Logging
import RelayConfig
import RelayHTTP
import Synchronization

/// Replaces what a running gateway serves with what a new config declares, or nothing.
///
/// The new config is validated completely first (the same route table and TLS checks as
/// `check`); on any error nothing changes. Then, per listener, the router (routes, filters and
/// their options, tokens) and the TLS context are swapped at once: requests read after the swap
/// use the new ones, open WebSockets stay connected, but those whose token or origin the new
/// filters refuse are closed with 1008 and a reason that says so. Filters whose declaration did not change are
/// kept with their state (a rate limiter's buckets), unless they read a token that changed.
///
/// What a reload cannot change is refused, naming it: `cluster:` and `relay:` (the relay's
/// settings are fixed at start in this version), and the set of listeners with their addresses.
public final class ConfigReloader: Sendable {
    /// What a running gateway serves per listener, set once its listeners are built.
    struct Serving: Sendable {
        let environment: HandlerEnvironment
        let contents: [String: ListenerContent]
        let slots: [String: ConnectionSlots]
    }

    private struct State: Sendable {
        var config: GatewayConfig
        var routeTable: RouteTable
        var serving: Serving?
    }

    private let state: Mutex<State>
    /// Held for a whole reload: two at once (a signal while a test reloads) apply one after the other.
    private let reloading = Mutex(())
    private let metrics: RelayMetrics
    private let logger: Logger

    init(config: GatewayConfig, routeTable: RouteTable, metrics: RelayMetrics, logger: Logger) {
        self.state = Mutex(State(config: config, routeTable: routeTable))
        self.metrics = metrics
        self.logger = logger
    }

    func started(_ serving: Serving) {
        self.state.withLock { $0.serving = serving }
    }

    /// The config now served.
    public var config: GatewayConfig { self.state.withLock { $0.config } }

    /// Applies `new`, or throws the first reason it cannot be and changes nothing. Returns what changed.
    @discardableResult
    public func reload(to new: GatewayConfig) throws(ConfigError) -> ReloadSummary {
        let outcome = self.reloading.withLock { _ in
            Result { () throws(ConfigError) -> ReloadSummary in try self.apply(new) }
        }
        self.metrics.reloaded(success: (try? outcome.get()) != nil)
        return try outcome.get()
    }

    private func apply(_ new: GatewayConfig) throws(ConfigError) -> ReloadSummary {
        let (old, previous, serving) = self.state.withLock { ($0.config, $0.routeTable, $0.serving) }
        try Self.refuseWhatNeedsARestart(from: old, to: new)
        let routeTable = try RouteTable(config: new, logger: self.logger, metrics: self.metrics, previous: previous)
        var credentials: [String: TLSCredentials] = [:]
        for listener in new.listeners {
            if let tls = listener.tls { credentials[listener.name] = try TLSCredentials(tls) }
        }
        let summary = ReloadSummary(from: previous, to: routeTable)
        guard let serving else {
            self.state.withLock { $0 = State(config: new, routeTable: routeTable, serving: nil) }
            return summary
        }
        var slots = serving.slots
        var routers: [String: Router] = [:]
        for listener in routeTable.listeners {
            let name = listener.config.name
            switch (slots[name], listener.config.maxConnections) {
            case (let existing?, let limit?): existing.setLimit(limit)
            case (nil, let limit?): slots[name] = ConnectionSlots(limit: limit)
            case (_, nil): slots[name] = nil
            }
            routers[name] = listener.makeRouter(environment: serving.environment, connectionSlots: slots[name])
        }
        // Every check passed: from here on nothing can fail.
        serving.environment.routes.replace(routeTable: routeTable)
        for listener in routeTable.listeners {
            let name = listener.config.name
            serving.contents[name]?.replace(router: routers[name]!, tls: credentials[name]?.context)
        }
        self.state.withLock {
            $0 = State(config: new, routeTable: routeTable, serving: Serving(environment: serving.environment, contents: serving.contents, slots: slots))
        }
        for warning in credentials.values.flatMap(\.warnings) {
            self.logger.warning("config warning", metadata: ["warning": "\(warning)"])
        }
        let closed = serving.environment.sessions.open.closeRefused(by: routeTable)
        return summary.closing(closed)
    }

    private static func refuseWhatNeedsARestart(from old: GatewayConfig, to new: GatewayConfig) throws(ConfigError) {
        func refuse(_ keyPath: String, _ message: String) -> ConfigError {
            ConfigError(file: new.file, keyPath: keyPath, line: nil, message: message)
        }
        if old.cluster != new.cluster {
            throw refuse("cluster", "cluster settings cannot change on a reload: restart the gateway")
        }
        if old.relay != new.relay {
            throw refuse("relay", "relay settings cannot change on a reload in this version: restart the gateway")
        }
        let addresses = { (config: GatewayConfig) in config.listeners.map { "\($0.name) \($0.host):\($0.port)" } }
        if addresses(old) != addresses(new) {
            throw refuse(
                "listeners",
                "listeners cannot be added, removed, renamed or moved on a reload in this version (had \(addresses(old).joined(separator: ", ")); now \(addresses(new).joined(separator: ", "))): restart the gateway"
            )
        }
    }
}

/// What a reload changed, per listener: as logged, and printed by `relay-gateway reload`.
public struct ReloadSummary: Sendable, CustomStringConvertible {
    public let lines: [String]

    init(from old: RouteTable, to new: RouteTable) {
        var lines: [String] = []
        for listener in new.listeners {
            let before = old.listeners.first { $0.config.name == listener.config.name }
            func key(_ route: RouteTable.Route) -> String { "\(route.method.rawValue) \(route.path)" }
            func describe(_ route: RouteTable.Route) -> String {
                "\(route.handler.name) [\(route.filters.map(\.name).joined(separator: ","))]"
            }
            let oldRoutes = Dictionary((before?.routes ?? []).map { (key($0), describe($0)) }, uniquingKeysWith: { a, _ in a })
            let newRoutes = Dictionary(listener.routes.map { (key($0), describe($0)) }, uniquingKeysWith: { a, _ in a })
            let added = newRoutes.keys.filter { oldRoutes[$0] == nil }.sorted()
            let removed = oldRoutes.keys.filter { newRoutes[$0] == nil }.sorted()
            let changed = newRoutes.keys.filter { oldRoutes[$0] != nil && oldRoutes[$0] != newRoutes[$0] }.sorted()
            var parts: [String] = []
            if !added.isEmpty { parts.append("routes added: \(added.joined(separator: ", "))") }
            if !removed.isEmpty { parts.append("routes removed: \(removed.joined(separator: ", "))") }
            if !changed.isEmpty { parts.append("routes changed: \(changed.joined(separator: ", "))") }
            if before?.filters.map(\.name) != listener.filters.map(\.name) {
                parts.append("listener filters: \(listener.filters.map(\.name).joined(separator: ", "))")
            }
            if before?.config.tls != listener.config.tls {
                parts.append(listener.config.tls == nil ? "TLS off for new connections" : "TLS certificate and key reloaded")
            }
            lines.append("listener \(listener.config.name): " + (parts.isEmpty ? "routes unchanged" : parts.joined(separator: "; ")))
        }
        let rebuilt = new.filtersByName.keys.filter { !new.keptFilters.contains($0) }.sorted()
        if !rebuilt.isEmpty { lines.append("filters built anew: \(rebuilt.joined(separator: ", "))") }
        let kept = new.keptFilters.intersection(new.filtersByName.keys)
        if !kept.isEmpty { lines.append("filters kept with their state: \(kept.sorted().joined(separator: ", "))") }
        lines.append("open connections: kept")
        self.lines = lines
    }

    private init(lines: [String]) {
        self.lines = lines
    }

    /// With `closed` WebSockets closed for credentials the new config refuses.
    func closing(_ closed: Int) -> ReloadSummary {
        guard closed > 0 else { return self }
        return ReloadSummary(
            lines: self.lines.dropLast() + ["open connections: kept, but \(closed) WebSocket\(closed == 1 ? "" : "s") closed (1008): token or origin no longer accepted"]
        )
    }

    public var description: String { self.lines.joined(separator: "\n") }
}

extension RouteTable {
    /// Every filter some route or listener uses, by name.
    var filtersByName: [String: Filter] {
        var filters: [String: Filter] = [:]
        for listener in self.listeners {
            for filter in listener.filters + listener.routes.flatMap(\.filters) { filters[filter.name] = filter }
        }
        return filters
    }
}
