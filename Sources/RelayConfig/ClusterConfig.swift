/// The `cluster:` section: several gateway nodes sharing registrations and publishes through a
/// database. Absent, the gateway runs as one node with everything in memory.
///
/// ```yaml
/// cluster:
///   backend: postgres
///   url: ${RELAY_DATABASE_URL}
///   node_id: ${RELAY_NODE_ID}
///   poll_interval: 250ms
/// ```
public struct ClusterConfig: Sendable, Equatable {
    public enum Backend: String, Sendable, CaseIterable {
        case postgres
    }

    public var backend: Backend = .postgres
    /// `postgres://user[:password]@host[:port]/database` (`url`).
    public var url: String
    /// This node's name (`node_id`), unique in the cluster and stable across its restarts; used to
    /// mark which node holds each registration's connection (a restarted node clears its marks).
    public var nodeID: String
    /// How often a node reads the outbox even without a wake-up (`poll_interval`).
    public var pollInterval: Duration = .milliseconds(250)
    /// How long published messages stay in the outbox (`retention`); at least the history's ttl.
    public var retention: Duration = .seconds(300)
    /// How long a publish waits for the database before it is answered 503 (`timeout`).
    public var timeout: Duration = .seconds(2)

    public init(url: String, nodeID: String) {
        self.url = url
        self.nodeID = nodeID
    }

    static let allowedKeys = ["backend", "url", "node_id", "poll_interval", "retention", "timeout"]

    /// - Parameters:
    ///   - historyTTL: `relay.history.ttl` when history is on: the outbox is the cluster's
    ///     history, so it keeps messages at least that long.
    ///   - idempotencyWindow: `relay.idempotency_window`: the outbox holds the cluster's
    ///     idempotency keys, so it keeps messages at least that long too.
    init(reading mapping: ConfigMapping, historyTTL: Duration, idempotencyWindow: Duration = .zero) throws(ConfigError) {
        try mapping.rejectUnknownKeys(allowed: Self.allowedKeys)
        let urlNode = try mapping.required("url")
        self.init(url: try urlNode.nonEmptyString(), nodeID: try mapping.required("node_id").nonEmptyString())
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
            throw urlNode.location.error("must be a postgres://user@host:port/database URL")
        }
        if let node = mapping.node("backend") { backend = try node.choice(Backend.self) }
        if let node = mapping.node("poll_interval") {
            pollInterval = try node.duration()
            guard pollInterval >= .milliseconds(10), pollInterval <= .seconds(60) else {
                throw node.location.error("must be between 10ms and 60s")
            }
        }
        if let node = mapping.node("retention") {
            retention = try node.duration()
            guard retention >= .seconds(1) else { throw node.location.error("must be at least 1s") }
            guard retention >= historyTTL else { throw node.location.error("must be at least relay.history.ttl (\(historyTTL))") }
            guard retention >= idempotencyWindow else {
                throw node.location.error("must be at least relay.idempotency_window (\(idempotencyWindow))")
            }
        } else {
            retention = max(retention, historyTTL, idempotencyWindow)
        }
        if let node = mapping.node("timeout") {
            timeout = try node.duration()
            guard timeout > .zero, timeout <= .seconds(60) else { throw node.location.error("must be between 0 and 60s") }
        }
    }
}
