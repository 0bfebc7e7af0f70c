/// A growable ring buffer: O(1) append at the back and removal at the front, and removed
/// elements are released at once (a payload is not kept alive by a consumed prefix).
struct HistoryRing<Element> {
    private var slots: [Element?] = []
    private var head = 0
    private(set) var count = 0

    var isEmpty: Bool { self.count == 0 }
    var first: Element? { self.isEmpty ? nil : self.slots[self.head] }

    /// The element `index` places from the front.
    subscript(index: Int) -> Element {
        self.slots[(self.head + index) & (self.slots.count - 1)]!
    }

    mutating func append(_ element: Element) {
        if self.count == self.slots.count {
            self.resize(to: max(4, self.slots.count * 2))
        }
        self.slots[(self.head + self.count) & (self.slots.count - 1)] = element
        self.count += 1
    }

    @discardableResult
    mutating func removeFirst() -> Element {
        let element = self.slots[self.head]!
        self.slots[self.head] = nil
        self.head = (self.head + 1) & (self.slots.count - 1)
        self.count -= 1
        if self.slots.count > 16 && self.count * 4 < self.slots.count {
            self.resize(to: self.slots.count / 2)
        }
        return element
    }

    /// Keeps only the elements for which `keep` is true, in order.
    mutating func retain(where keep: (Element) -> Bool) {
        var kept = HistoryRing()
        for index in 0..<self.count where keep(self[index]) {
            kept.append(self[index])
        }
        self = kept
    }

    /// Capacity stays a power of two so positions wrap with a mask.
    private mutating func resize(to capacity: Int) {
        var slots = [Element?](repeating: nil, count: capacity)
        for index in 0..<self.count {
            slots[index] = self[index]
        }
        self.slots = slots
        self.head = 0
    }
}

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
struct HistoryStream<Payload: Sendable> {
    /// Empty only for a stream being created, before `TopicHistory` assigns its epoch.
    var epoch: String
    var lastOffset: UInt64 = 0
    /// Sequence number of the latest append (or of the creation): while the stream holds no
    /// entries, this is its age for global eviction.
    var lastSeq: UInt64 = 0
    var lastPublish: ContinuousClock.Instant
    var entries = HistoryRing<StoredEntry<Payload>>()

    /// The sequence number by which this stream is ordered against others for global eviction.
    var oldestSeq: UInt64 { self.entries.first?.seq ?? self.lastSeq }

    /// Drops entries published at or before `deadline`; returns how many and their cost.
    mutating func dropEntries(publishedBy deadline: ContinuousClock.Instant) -> (count: Int, cost: Int) {
        var dropped = (count: 0, cost: 0)
        while let first = self.entries.first, first.time <= deadline {
            self.entries.removeFirst()
            dropped.count += 1
            dropped.cost += first.cost
        }
        return dropped
    }
}

/// A marker in a shard's publish order: "topic published (or was created) with this sequence number".
struct OrderItem {
    let seq: UInt64
    let topic: String
}

/// What one lock of `TopicHistory` guards: some topics' streams, and the order in which their
/// entries were published so the shard's oldest entry is found in O(1).
///
/// `order` holds one item per append and per stream creation, in increasing `seq` (sequence numbers
/// are drawn under this lock). Items go stale when their entry leaves by size, ttl or trim; stale
/// items are skipped lazily at the front and swept out when they outnumber the live ones.
struct HistoryShardState<Payload: Sendable> {
    var streams: [String: HistoryStream<Payload>] = [:]
    var order = HistoryRing<OrderItem>()
    var entryCount = 0

    /// Whether `item` still stands for something held: an entry of its stream, or (for a stream
    /// with no entries) the stream itself.
    func isHeld(_ item: OrderItem) -> Bool {
        Self.isHeld(item, in: self.streams)
    }

    private static func isHeld(_ item: OrderItem, in streams: [String: HistoryStream<Payload>]) -> Bool {
        guard let stream = streams[item.topic] else { return false }
        if let first = stream.entries.first {
            return item.seq >= first.seq
        }
        return item.seq == stream.lastSeq
    }

    /// The item of the oldest thing held in this shard, dropping stale items on the way.
    mutating func oldest() -> OrderItem? {
        while let item = self.order.first {
            if self.isHeld(item) {
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
        if self.streams[item.topic]!.entries.isEmpty {
            self.streams[item.topic] = nil
            self.order.removeFirst()
            return HistorySettings.streamOverhead
        }
        let removed = self.streams[item.topic]!.entries.removeFirst()
        self.entryCount -= 1
        if !self.streams[item.topic]!.entries.isEmpty {
            self.order.removeFirst()
        }
        // Otherwise the item stays: it now stands for the emptied stream (its `lastSeq`).
        return removed.cost
    }

    /// Sweeps stale items out of `order` once they outnumber the live ones (amortized O(1)).
    mutating func compactOrderIfNeeded() {
        guard self.order.count > 2 * (self.entryCount + self.streams.count) + 64 else { return }
        let streams = self.streams
        self.order.retain { Self.isHeld($0, in: streams) }
    }
}
