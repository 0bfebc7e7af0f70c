/// Where a topic's stream is: its epoch and the offset of its latest message.
///
/// Offsets count messages within one epoch: 1, 2, 3... (0 means nothing published yet). A stream
/// that is forgotten and started again gets a new random epoch, so positions from before never
/// match it by accident.
public struct StreamPosition: Sendable, Hashable {
    public var epoch: String
    public var offset: UInt64

    public init(epoch: String, offset: UInt64) {
        self.epoch = epoch
        self.offset = offset
    }
}

/// One message kept in a topic's history.
public struct HistoryEntry<Payload: Sendable>: Sendable {
    public let offset: UInt64
    /// The user the message was addressed to; `nil` for everyone on the topic.
    public let userID: Int?
    public let payload: Payload

    public init(offset: UInt64, userID: Int?, payload: Payload) {
        self.offset = offset
        self.userID = userID
        self.payload = payload
    }
}

/// What a reconnecting client missed since the position it last saw.
public struct Replay<Payload: Sendable>: Sendable {
    /// `true` when every message after the client's position is still held (and the epoch
    /// matches), so `entries` is exactly what it missed; `false` means it must resync some other way.
    public let recovered: Bool
    /// The missed messages this client may see, in offset order. When not recovered: what is still
    /// held after the client's offset if the epoch matched, else nothing.
    public let entries: [HistoryEntry<Payload>]
    /// The stream's position when the replay was taken; the client resumes from here.
    public let position: StreamPosition

    public init(recovered: Bool, entries: [HistoryEntry<Payload>], position: StreamPosition) {
        self.recovered = recovered
        self.entries = entries
        self.position = position
    }
}
