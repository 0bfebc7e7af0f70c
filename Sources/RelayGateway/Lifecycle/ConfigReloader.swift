import Logging
import RelayConfig
import RelayCore
import RelayHTTP
import Synchronization

/// Replaces what a running gateway serves with what a new config declares, or nothing.
///
/// The new config is validated completely first (the same route table and TLS checks as
/// `check`); on any error nothing changes. Then, per listener, the router (routes, filters and
/// their options, tokens) and the TLS context are swapped at once: requests read after the swap
/// use the new ones, open subscribers (WebSockets, event streams) stay connected, but those that
/// the new filters refuse (``SubscriberRecheck``: a token or an origin no longer accepted) are
/// ended with 1008 and a reason that says so. Filters whose declaration did not change are
/// kept with their state (a rate limiter's buckets), unless they read a token that changed.
///
/// Listeners are added (bound first: an address in use refuses the reload) and removed (their
/// subscribers ended with 1001 "listener removed" after what is queued to them, then the
/// listener quiesces); a listener whose host or port changed is both. `relay:` applies to what
/// comes next: registrations made, topics set, WebSockets and HTTP connections opened after the
/// reload (open ones keep their queues and limits). What a reload cannot change is refused,
/// naming it: `cluster:`, `relay.history` and `relay.shutdown_timeout`.
public final class ConfigReloader: Sendable {
    /// Builds the `HTTPServer` of a listener (as the gateway built those it started with).
    typealias ServerMaker = @Sendable (ListenerConfig, ListenerContent) -> HTTPServer

    /// What a running gateway serves per listener, set once its listeners are built.
    struct Serving: Sendable {
        var environment: HandlerEnvironment
        var contents: [String: ListenerContent]
        var slots: [String: ConnectionSlots]
        let listeners: LiveListeners
        let makeServer: ServerMaker
    }

    private struct State: Sendable {
        var config: GatewayConfig
        var routeTable: RouteTable
        var serving: Serving?
    }

    private let state: Mutex<State>
    /// Held for a whole reload: two at once (a signal while a test reloads) apply one after the other.
    private let reloading = AsyncLock()
    private let plugins: Plugins
    private let metrics: RelayMetrics
    private let logger: Logger
    private let clock: any GatewayClock

    init(config: GatewayConfig, routeTable: RouteTable, plugins: Plugins, metrics: RelayMetrics, logger: Logger, clock: any GatewayClock) {
        self.state = Mutex(State(config: config, routeTable: routeTable))
        self.plugins = plugins
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
    }

    func started(_ serving: Serving) {
        self.state.withLock { $0.serving = serving }
    }

    /// The config now served.
    public var config: GatewayConfig { self.state.withLock { $0.config } }

    /// Reads `file` and applies it (``reload(to:)``). A file that does not load (unreadable, not
    /// YAML, invalid) is a refused reload too, and counted as one.
    @discardableResult
    public func reload(file: String) async throws(ConfigError) -> ReloadSummary {
        let new: GatewayConfig
        do {
            new = try ConfigLoader.load(file: file)
        } catch {
            self.metrics.reloaded(success: false)
            throw error
        }
        return try await self.reload(to: new)
    }

    /// Applies `new`, or throws the first reason it cannot be and changes nothing. Returns what changed.
    @discardableResult
    public func reload(to new: GatewayConfig) async throws(ConfigError) -> ReloadSummary {
        await self.reloading.lock()
        let outcome: Result<ReloadSummary, ConfigError>
        do {
            outcome = .success(try await self.apply(new))
        } catch {
            outcome = .failure(error)
        }
        self.reloading.unlock()
        self.metrics.reloaded(success: (try? outcome.get()) != nil)
        return try outcome.get()
    }

    private func apply(_ new: GatewayConfig) async throws(ConfigError) -> ReloadSummary {
        let (old, previous, running) = self.state.withLock { ($0.config, $0.routeTable, $0.serving) }
        try Self.refuseWhatNeedsARestart(from: old, to: new)
        let routeTable = try RouteTable(
            config: new, plugins: self.plugins, logger: self.logger, metrics: self.metrics, clock: self.clock, previous: previous)
        var credentials: [String: TLSCredentials] = [:]
        for listener in new.listeners {
            if let tls = listener.tls { credentials[listener.name] = try TLSCredentials(tls) }
        }
        let oldAddresses = Set(old.listeners.map(\.reloadIdentity))
        let newAddresses = Set(new.listeners.map(\.reloadIdentity))
        let removed = old.listeners.filter { !newAddresses.contains($0.reloadIdentity) }
        let added = routeTable.listeners.filter { !oldAddresses.contains($0.config.reloadIdentity) }
        guard var serving = running else {
            self.state.withLock { $0 = State(config: new, routeTable: routeTable, serving: nil) }
            let lines =
                removed.map { "listener \($0.name) on \($0.host):\($0.port) removed: its subscribers closed (1001)" }
                + added.map { "listener \($0.config.name) added on \($0.config.host):\($0.config.port)" }
            return ReloadSummary(from: previous, to: routeTable, listeners: lines)
        }

        // `relay:` for what comes next: handlers and sessions built from here on, new connections.
        serving.environment.settings = new.relay
        serving.environment.subscribers = serving.environment.subscribers.with(settings: new.relay)
        let limits = Gateway.connectionLimits(new.relay)
        var slots = serving.slots
        for listener in removed { slots[listener.name] = nil }
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
        // New listeners are bound before anything changes: an address in use refuses the reload.
        var opened: [(listener: RouteTable.Listener, server: HTTPServer, bound: BoundListener, content: ListenerContent)] = []
        for listener in added {
            let name = listener.config.name
            let content = ListenerContent(router: routers[name]!, tls: credentials[name]?.context, limits: limits)
            let server = serving.makeServer(listener.config, content)
            do {
                opened.append((listener, server, try await serving.listeners.bind(server), content))
            } catch {
                for listener in opened { listener.bound.close() }
                throw listener.config.location.error("cannot listen on \(listener.config.host):\(listener.config.port): \(error)")
            }
        }

        // Every check passed: from here on nothing can fail.
        serving.environment.relay.update(Gateway.relaySettings(new.relay))
        serving.environment.routes.replace(routeTable: routeTable)
        for listener in routeTable.listeners where oldAddresses.contains(listener.config.reloadIdentity) {
            let name = listener.config.name
            serving.contents[name]?.replace(router: routers[name]!, tls: credentials[name]?.context, limits: limits)
        }
        var lines: [String] = []
        for listener in removed {
            let closed = serving.environment.subscribers.open.endAll(on: listener.name, .listenerRemoved)
            serving.listeners.stop(listener.name)
            serving.contents[listener.name] = nil
            lines.append(
                "listener \(listener.name) on \(listener.host):\(listener.port) removed: \(closed) subscriber\(closed == 1 ? "" : "s") closed (1001)")
        }
        for new in opened {
            let name = new.listener.config.name
            serving.contents[name] = new.content
            serving.listeners.serve(new.server, new.bound, as: name)
            lines.append("listener \(name) added on \(new.listener.config.host):\(new.bound.port)")
        }
        serving.slots = slots
        let finalServing = serving
        self.state.withLock { $0 = State(config: new, routeTable: routeTable, serving: finalServing) }
        for warning in credentials.values.flatMap(\.warnings) {
            self.logger.warning("config warning", metadata: ["warning": "\(warning)"])
        }
        let revoked = await serving.environment.subscribers.open.recheck(by: routeTable)
        if old.relay != new.relay {
            lines.append("relay settings changed: for registrations, topic changes, subscribers and connections from now on")
        }
        return ReloadSummary(from: previous, to: routeTable, listeners: lines, revoked: revoked)
    }

    private static func refuseWhatNeedsARestart(from old: GatewayConfig, to new: GatewayConfig) throws(ConfigError) {
        func refuse(_ keyPath: String, _ message: String) -> ConfigError {
            ConfigError(file: new.file, keyPath: keyPath, line: nil, message: message)
        }
        if old.cluster != new.cluster {
            throw refuse("cluster", "cluster settings cannot change on a reload: restart the gateway")
        }
        if old.relay.history != new.relay.history {
            throw refuse("relay.history", "history settings cannot change on a reload: restart the gateway")
        }
        if old.relay.idempotencyWindow != new.relay.idempotencyWindow || old.relay.idempotencyMaxKeys != new.relay.idempotencyMaxKeys {
            throw refuse("relay.idempotency_window", "idempotency settings cannot change on a reload: restart the gateway")
        }
        if old.relay.shutdownTimeout != new.relay.shutdownTimeout {
            throw refuse("relay.shutdown_timeout", "shutdown_timeout cannot change on a reload: restart the gateway")
        }
    }
}

/// What a reload changed, per listener: as logged, and printed by `relay-gateway reload`.
public struct ReloadSummary: Sendable, CustomStringConvertible {
    public let lines: [String]

    /// - Parameters:
    ///   - listeners: a line per listener added or removed (and other changes), after the routes
    ///     and filters of the listeners kept.
    ///   - revoked: subscribers ended because the new config's filters refuse them.
    init(from old: RouteTable, to new: RouteTable, listeners extra: [String] = [], revoked: Int = 0) {
        var lines: [String] = []
        let kept = Set(old.listeners.map(\.config.reloadIdentity))
        for listener in new.listeners where kept.contains(listener.config.reloadIdentity) {
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
        let keptFilters = new.keptFilters.intersection(new.filtersByName.keys)
        if !keptFilters.isEmpty { lines.append("filters kept with their state: \(keptFilters.sorted().joined(separator: ", "))") }
        lines += extra
        lines.append(
            revoked == 0
                ? "open connections: kept"
                : "open connections: kept, but \(revoked) subscriber\(revoked == 1 ? "" : "s") closed (1008): no longer accepted by the filters"
        )
        self.lines = lines
    }

    public var description: String { self.lines.joined(separator: "\n") }
}

extension ListenerConfig {
    /// A reload keeps a listener whose name, host and port stay; any other is removed or added
    /// (a listener that moves is both).
    var reloadIdentity: String { "\(self.name) \(self.host):\(self.port)" }
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
