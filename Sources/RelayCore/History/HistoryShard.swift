/// A growable ring buffer: O(1) append at the back and removal at the front, and removed
/// elements are released at once (a payload is not kept alive by a consumed prefix).
///
/// A reference type: the history keeps exactly one owner per ring and mutates it only under
/// its shard's lock.
final class HistoryRing<Element> {
    private struct Header {
        var head = 0
        var count = 0
        var mask = -1   // capacity - 1; capacity is a power of two
    }

    private final class Storage: ManagedBuffer<Header, Element> {
        deinit {
            self.withUnsafeMutablePointers { header, elements in
                for index in 0..<header.pointee.count {
                    (elements + ((header.pointee.head + index) & header.pointee.mask)).deinitialize(count: 1)
                }
            }
        }
    }

    private var storage: Storage

    init(capacity: Int = 4) {
        self.storage = Self.makeStorage(capacity: capacity)
    }

    var count: Int { self.storage.header.count }
    var isEmpty: Bool { self.storage.header.count == 0 }
    var first: Element? { self.isEmpty ? nil : self[0] }

    /// The element `index` places from the front (`0 ..< count`).
    subscript(index: Int) -> Element {
        self.storage.withUnsafeMutablePointers { header, elements in
            precondition(index >= 0 && index < header.pointee.count, "ring index out of range")
            return elements[(header.pointee.head + index) & header.pointee.mask]
        }
    }

    func append(_ element: Element) {
        if self.storage.header.count > self.storage.header.mask {
            self.resize(to: 2 * (self.storage.header.mask + 1))
        }
        self.storage.withUnsafeMutablePointers { header, elements in
            (elements + ((header.pointee.head + header.pointee.count) & header.pointee.mask)).initialize(to: element)
            header.pointee.count += 1
        }
    }

    @discardableResult
    func removeFirst() -> Element {
        let element = self.storage.withUnsafeMutablePointers { header, elements in
            precondition(header.pointee.count > 0, "removeFirst on an empty ring")
            let element = (elements + header.pointee.head).move()
            header.pointee.head = (header.pointee.head + 1) & header.pointee.mask
            header.pointee.count -= 1
            return element
        }
        self.shrinkIfSparse()
        return element
    }

    /// Keeps only the elements for which `keep` is true, in order, in place.
    func retain(where keep: (Element) -> Bool) {
        self.storage.withUnsafeMutablePointers { header, elements in
            let (head, mask) = (header.pointee.head, header.pointee.mask)
            var kept = 0
            for index in 0..<header.pointee.count {
                let element = (elements + ((head + index) & mask)).move()
                if keep(element) {
                    (elements + ((head + kept) & mask)).initialize(to: element)
                    kept += 1
                }
            }
            header.pointee.count = kept
        }
        self.shrinkIfSparse()
    }

    private func shrinkIfSparse() {
        var capacity = self.storage.header.mask + 1
        while capacity > 16 && self.storage.header.count * 4 < capacity {
            capacity /= 2
        }
        if capacity < self.storage.header.mask + 1 {
            self.resize(to: capacity)
        }
    }

    private func resize(to capacity: Int) {
        let bigger = Self.makeStorage(capacity: capacity)
        self.storage.withUnsafeMutablePointers { header, elements in
            bigger.withUnsafeMutablePointers { newHeader, newElements in
                for index in 0..<header.pointee.count {
                    (newElements + index).moveInitialize(from: elements + ((header.pointee.head + index) & header.pointee.mask), count: 1)
                }
                newHeader.pointee.count = header.pointee.count
            }
            header.pointee.count = 0   // moved out: nothing left for deinit
        }
        self.storage = bigger
    }

    private static func makeStorage(capacity: Int) -> Storage {
        var size = 4
        while size < capacity {
            size *= 2
        }
        let buffer = Storage.create(minimumCapacity: size) { _ in Header(mask: size - 1) }
        return unsafeDowncast(buffer, to: Storage.self)
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
    let entries = HistoryRing<StoredEntry<Payload>>()
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
    let order = HistoryRing<OrderItem<Payload>>()
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
        self.order.retain { $0.isHeld }
    }
}
