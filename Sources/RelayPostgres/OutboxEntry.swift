import RelayCore

/// One row of the outbox: a publish, or a control message for every node.
public struct OutboxEntry: Sendable, Equatable {
    public enum Kind: Int16, Sendable {
        /// `payload` goes to the subscribers of `topic` (of `userID`, when set), at `topicOffset`.
        case publish = 0
        /// The registration `payload` (a client id) was removed: close its connection.
        case unregister = 1
        /// A connection opened on node `topic`; `payload` is "CLIENT_ID TOKEN".
        case claim = 2
    }

    public var id: Int64
    public var kind: Kind
    public var topic: String
    /// The publish's offset in its topic's stream; 0 for control messages.
    public var topicOffset: Int64
    public var userID: Int?
    public var payload: String
    /// A publish's `id`: the outbox appends it at most once per topic within the idempotency window.
    public var idempotencyKey: String?

    public init(
        id: Int64 = 0, kind: Kind, topic: String, topicOffset: Int64 = 0, userID: Int? = nil, payload: String, idempotencyKey: String? = nil
    ) {
        self.id = id
        self.kind = kind
        self.topic = topic
        self.topicOffset = topicOffset
        self.userID = userID
        self.payload = payload
        self.idempotencyKey = idempotencyKey
    }

    static func publish(topic: String, userID: Int?, message: String, idempotencyKey: String? = nil) -> OutboxEntry {
        OutboxEntry(kind: .publish, topic: topic, userID: userID, payload: message, idempotencyKey: idempotencyKey)
    }

    static func claim(_ id: ClientID, connection: UInt64, node: String) -> OutboxEntry {
        OutboxEntry(kind: .claim, topic: node, payload: "\(id) \(connection)")
    }

    /// The client and connection of a `claim` row.
    var claim: (id: ClientID, connection: UInt64)? {
        let parts = self.payload.split(separator: " ")
        guard self.kind == .claim, parts.count == 2, let id = ClientID(parts[0]), let token = UInt64(parts[1]) else { return nil }
        return (id, token)
    }
}
