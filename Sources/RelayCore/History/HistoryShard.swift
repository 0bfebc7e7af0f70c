import DequeModule

/// One stored message and what the history needs to age and evict it.
struct StoredEntry<Payload: Sendable> {
    let entry: HistoryEntry<Payload>
    /// The global publish sequence number: smaller is older, across all topics.
    let seq: UInt64
    let time: ContinuousClock.Instant
    /// Bytes counted against `maxBytes`.
    let cost: Int
}

/// One topic's stream: its epoch, latest offset, and the retained tail of its messages, whose
/// offsets are contiguous and end at `lastOffset` (entries only ever leave from the front).
///
/// A class so the publish-order items can point at it; only touched under its shard's lock.
final class HistoryStream<Payload: Sendable> {
    let topic: String
    let epoch: String
    var lastOffset: UInt64 = 0
    /// Sequence number of the latest append (or of the creation): while the stream holds no
    /// entries, this is its age for global eviction.
    var lastSeq: UInt64
    var lastPublish: ContinuousClock.Instant
    var entries = Deque<StoredEntry<Payload>>()
    /// Set when the stream leaves its shard's table; its publish-order items are then stale.
    var isRemoved = false

    init(topic: String, epoch: String, seq: UInt64, now: ContinuousClock.Instant) {
        self.topic = topic
        self.epoch = epoch
        self.lastSeq = seq
        self.lastPublish = now
    }

    var position: StreamPosition { StreamPosition(epoch: self.epoch, offset: self.lastOffset) }

    /// Drops entries published at or before `deadline`; returns how many and their cost.
    func dropEntries(publishedBy deadline: ContinuousClock.Instant) -> (count: Int, cost: Int) {
        var dropped = (count: 0, cost: 0)
        while let first = self.entries.first, first.time <= deadline {
            self.entries.removeFirst()
            dropped.count += 1
            dropped.cost += first.cost
        }
        return dropped
    }
}

/// A mark in a shard's publish order: "this stream got an entry (or was created) with this sequence number".
struct OrderItem<Payload: Sendable> {
    let seq: UInt64
    let stream: HistoryStream<Payload>

    /// Whether the item still stands for something held: an entry of its stream, or (for a
    /// stream with no entries) the stream itself.
    var isHeld: Bool {
        guard !self.stream.isRemoved else { return false }
        if let first = self.stream.entries.first {
            return self.seq >= first.seq
        }
        return self.seq == self.stream.lastSeq
    }
}

/// What one lock of `TopicHistory` guards: some topics' streams, and the order in which their
/// entries were published so the shard's oldest entry is found in O(1).
///
/// `order` holds one item per append and per stream creation, in increasing `seq` (sequence numbers
/// are drawn under this lock). Items go stale when their entry leaves by size, ttl or trim; stale
/// items are skipped lazily at the front and swept out when they outnumber the live ones.
struct HistoryShardState<Payload: Sendable> {
    var streams: [String: HistoryStream<Payload>] = [:]
    var order = Deque<OrderItem<Payload>>()
    var entryCount = 0

    /// The item of the oldest thing held in this shard, dropping stale items on the way.
    mutating func oldest() -> OrderItem<Payload>? {
        while let item = self.order.first {
            if item.isHeld {
                return item
            }
            self.order.removeFirst()
        }
        return nil
    }

    /// Evicts the oldest thing in this shard if its sequence number is `limit` or less: the
    /// oldest entry, or a stream that holds none. Returns the bytes freed, or nil if nothing was.
    mutating func evictOldest(notAfter limit: UInt64) -> Int? {
        guard let item = self.oldest(), item.seq <= limit else { return nil }
        let stream = item.stream
        if stream.entries.isEmpty {
            self.remove(stream)
            self.order.removeFirst()
            return HistorySettings.streamOverhead
        }
        let removed = stream.entries.removeFirst()
        self.entryCount -= 1
        if !stream.entries.isEmpty {
            self.order.removeFirst()
        }
        // Otherwise the item stays: it now stands for the emptied stream (its `lastSeq`).
        return removed.cost
    }

    mutating func remove(_ stream: HistoryStream<Payload>) {
        stream.isRemoved = true
        self.streams[stream.topic] = nil
    }

    /// Sweeps stale items out of `order` once they outnumber the live ones (amortized O(1)).
    mutating func compactOrderIfNeeded() {
        guard self.order.count > 2 * (self.entryCount + self.streams.count) + 64 else { return }
        self.order.removeAll { !$0.isHeld }
    }
}
