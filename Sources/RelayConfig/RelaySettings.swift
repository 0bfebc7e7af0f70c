/// The `relay:` section: behaviour shared by every listener.
public struct RelaySettings: Sendable, Equatable {
    /// Topics a new registration starts with (`default_topics`).
    public var defaultTopics: [String] = ["cats"]
    /// How long a registration without a live connection lives (`registration_ttl`); `.zero` = never expires.
    public var registrationTTL: Duration = .seconds(600)
    /// Messages buffered per connection before `slowConsumer` acts (`send_queue`), at least 1.
    public var sendQueue: Int = 1024
    /// Bytes of messages buffered per connection before `slowConsumer` acts (`send_queue_bytes`),
    /// at least 1; a lone message larger than this is still queued.
    public var sendQueueBytes: Int = 16 * 1_048_576
    /// What a full send queue does (`slow_consumer`).
    public var slowConsumer: SlowConsumerPolicy = .close
    /// Publish body and WebSocket frame limit (`max_message_bytes`), at least 1.
    public var maxMessageBytes: Int = 1_048_576
    /// Topics one client may hold (`max_topics_per_client`), at least 1.
    public var maxTopicsPerClient: Int = 64
    /// Longest topic name, in bytes of UTF-8 (`max_topic_length`), at least 1.
    public var maxTopicLength: Int = 256
    /// How often the server pings each WebSocket (`ping_interval`); `.zero` = never.
    public var pingInterval: Duration = .seconds(30)
    /// A WebSocket that sent nothing (not even a pong) for this long is closed (`ping_timeout`).
    public var pingTimeout: Duration = .seconds(60)
    /// A connection must complete its first request head within this (`handshake_timeout`).
    public var handshakeTimeout: Duration = .seconds(10)
    /// A keep-alive HTTP connection idle this long is closed (`idle_timeout`); `.zero` = never.
    public var idleTimeout: Duration = .seconds(60)
    /// How long a graceful shutdown may take before the rest is cancelled (`shutdown_timeout`).
    public var shutdownTimeout: Duration = .seconds(10)
    /// Under fan-out load, how long an event loop lets frames gather before one `writev` per socket
    /// sends them (`flush_window`); `.zero` flushes at the end of every event-loop pass. Light
    /// traffic is flushed at once whatever this is.
    public var flushWindow: Duration = .milliseconds(5)
    /// Per-topic history for reconnect-and-resume (`history`); off by default.
    public var history = HistoryConfig()
    /// Messages one publish request may carry (`max_batch`): a `messages` list, or the topics of
    /// one message sent to many; 1 to 10,000.
    public var maxBatch: Int = 100
    /// A publish repeating the topic and `id` of one seen this recently is not delivered again
    /// (`idempotency_window`); `.zero` turns the check off.
    public var idempotencyWindow: Duration = .seconds(120)
    /// Idempotency keys one node holds at most (`idempotency_max_keys`); past that the oldest are
    /// forgotten early. A cluster keeps them in its outbox instead.
    public var idempotencyMaxKeys: Int = 100_000

    public init() {}
}

/// The `relay.history` mapping: messages kept per topic so a client that reconnects can resume.
public struct HistoryConfig: Sendable, Equatable {
    /// Messages kept per topic (`size`); 0 turns history off.
    public var size: Int = 0
    /// Entries older than this are dropped (`ttl`); `.zero` = no age limit.
    public var ttl: Duration = .seconds(120)
    /// All history, and all messages kept for disconnected registrations, in bytes (`max_bytes`).
    public var maxBytes: Int = 64 << 20

    public var isEnabled: Bool { self.size > 0 }

    public init() {}

    static let allowedKeys = ["size", "ttl", "max_bytes"]

    init(reading mapping: ConfigMapping) throws(ConfigError) {
        try mapping.rejectUnknownKeys(allowed: Self.allowedKeys)
        if let node = mapping.node("size") { size = try node.int(in: 0...1_000_000) }
        if let node = mapping.node("ttl") { ttl = try node.duration() }
        if let node = mapping.node("max_bytes") { maxBytes = try node.byteCount(atLeast: 1) }
    }
}

/// What happens when a connection's send queue is full.
public enum SlowConsumerPolicy: String, Sendable, CaseIterable {
    /// Close the connection (code 1008, reason "slow consumer").
    case close
    /// Drop the oldest queued message to make room.
    case dropOldest = "drop_oldest"
}

extension RelaySettings {
    static let allowedKeys = [
        "default_topics", "registration_ttl", "send_queue", "send_queue_bytes", "slow_consumer",
        "max_message_bytes", "max_topics_per_client", "max_topic_length", "ping_interval", "ping_timeout",
        "handshake_timeout", "idle_timeout", "shutdown_timeout", "history", "flush_window", "max_batch",
        "idempotency_window", "idempotency_max_keys",
    ]

    /// Reads the `relay:` mapping; absent keys keep their defaults.
    init(reading mapping: ConfigMapping) throws(ConfigError) {
        self.init()
        try mapping.rejectUnknownKeys(allowed: Self.allowedKeys)
        if let node = mapping.node("registration_ttl") { registrationTTL = try node.duration() }
        if let node = mapping.node("send_queue") { sendQueue = try node.int(atLeast: 1) }
        if let node = mapping.node("send_queue_bytes") { sendQueueBytes = try node.byteCount(atLeast: 1) }
        if let node = mapping.node("slow_consumer") { slowConsumer = try node.choice(SlowConsumerPolicy.self) }
        if let node = mapping.node("max_message_bytes") { maxMessageBytes = try node.byteCount(atLeast: 1) }
        if let node = mapping.node("max_topics_per_client") { maxTopicsPerClient = try node.int(atLeast: 1) }
        if let node = mapping.node("max_topic_length") { maxTopicLength = try node.int(atLeast: 1) }
        if let node = mapping.node("default_topics") { defaultTopics = try readTopics(node) }
        if let node = mapping.node("ping_interval") { pingInterval = try node.duration() }
        if let node = mapping.node("ping_timeout") { pingTimeout = try node.duration() }
        if let node = mapping.node("handshake_timeout") {
            handshakeTimeout = try node.duration()
            guard handshakeTimeout > .zero else { throw node.location.error("must be longer than 0") }
        }
        if let node = mapping.node("idle_timeout") { idleTimeout = try node.duration() }
        if let node = mapping.node("shutdown_timeout") {
            shutdownTimeout = try node.duration()
            guard shutdownTimeout > .zero else { throw node.location.error("must be longer than 0") }
        }
        if let node = mapping.node("flush_window") {
            flushWindow = try node.duration()
            guard flushWindow <= .milliseconds(100) else { throw node.location.error("must be at most 100ms") }
        }
        if let node = mapping.node("history") { history = try HistoryConfig(reading: node.mapping()) }
        if let node = mapping.node("max_batch") { maxBatch = try node.int(in: 1...10_000) }
        if let node = mapping.node("idempotency_window") {
            idempotencyWindow = try node.duration()
            guard idempotencyWindow <= .seconds(86_400) else { throw node.location.error("must be at most 24h") }
        }
        if let node = mapping.node("idempotency_max_keys") { idempotencyMaxKeys = try node.int(in: 1...10_000_000) }
        if pingInterval > .zero, pingTimeout <= pingInterval, let node = mapping.node("ping_timeout") ?? mapping.node("ping_interval") {
            throw node.location.error("ping_timeout must be longer than ping_interval")
        }
    }

    /// Default topics must themselves fit the per-client limits.
    private func readTopics(_ node: ConfigNode) throws(ConfigError) -> [String] {
        let items = try node.list()
        guard items.count <= maxTopicsPerClient else {
            throw node.location.error("\(items.count) topics, more than max_topics_per_client (\(maxTopicsPerClient))")
        }
        return try items.map { item throws(ConfigError) in
            let topic = try item.nonEmptyString()
            guard topic.utf8.count <= maxTopicLength else {
                throw item.location.error("topic is longer than max_topic_length (\(maxTopicLength))")
            }
            return topic
        }
    }
}
