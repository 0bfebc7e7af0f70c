import Synchronization

/// The recent messages of each topic, so a client that reconnects can resume where it left off.
///
/// Every topic has a stream: a random epoch and an offset that counts its messages (1, 2, 3...).
/// A client remembers the `StreamPosition` of the last message it saw; on reconnect,
/// `replay(topic:since:forUser:)` hands back what it missed, or says the gap cannot be filled
/// (`recovered == false`) because the stream was restarted or some missed message is gone.
///
/// ```swift
/// let history = TopicHistory<ByteBuffer>(settings: .init(size: 100, ttl: .seconds(120)))
/// history.append(topic: "cats", userID: nil, payload: frame, bytes: frame.readableBytes) { position in
///     relay.publish(Message(frame, position), topic: "cats", userID: nil)   // in offset order
/// }
/// let replay = history.replay(topic: "cats", since: lastSeen, forUser: 1)
/// ```
///
/// Limits: at most `size` messages per topic, none older than `ttl`, and at most `maxBytes` over
/// all topics, where the oldest messages anywhere go first. Topics are spread over independently
/// locked shards like `TopicIndex`; no two shard locks are ever held at once.
///
/// With history off (`size == 0`) nothing is stored, but offsets are still assigned and streams
/// still kept (each costs `HistorySettings.streamOverhead`), so every replay that is not already at
/// the current position is unrecovered. The gateway is expected not to use the history at all then.
public final class TopicHistory<Payload: Sendable>: Sendable {
    private final class Shard: Sendable {
        let state = Mutex(HistoryShardState<Payload>())
        /// A lower bound of the sequence number of the oldest thing held here (`.max` when
        /// nothing is), so eviction can pick a shard without locking all of them. Written only
        /// under `state`'s lock; the oldest item's seq only grows, except when an empty shard
        /// gets a new item, which lowers the hint.
        let oldestHint = Atomic<UInt64>(.max)
    }

    public let settings: HistorySettings
    private let shards: [Shard]
    private let makeEpoch: @Sendable () -> String
    /// What `ttl` is measured with, when a call gives no `now`.
    public let clock: any GatewayClock
    /// Global publish order, drawn under the shard lock, so each shard's items are increasing.
    private let nextSeq = Atomic<UInt64>(0)
    /// Bytes counted against `settings.maxBytes`, over all shards.
    private let totalBytes = Atomic<Int>(0)

    /// - Parameters:
    ///   - makeEpoch: the epoch of each new stream; must return a non-empty string that
    ///     differs from the epochs of earlier streams of the same topic (random is fine).
    ///   - clock: when messages were published, for `ttl`.
    public init(
        settings: HistorySettings,
        shardCount: Int = 64,
        makeEpoch: @escaping @Sendable () -> String = TopicHistory.randomEpoch,
        clock: any GatewayClock = SystemClock.system
    ) {
        self.settings = settings
        self.clock = clock
        // A plain loop: `map { _ in Shard() }` trips a compiler crash when this initializer is
        // specialized across modules (-cross-module-optimization, Swift 6.3.1).
        var shards: [Shard] = []
        shards.reserveCapacity(max(1, shardCount))
        for _ in 0..<max(1, shardCount) {
            shards.append(Shard())
        }
        self.shards = shards
        self.makeEpoch = makeEpoch
    }

    /// 8 lowercase hex characters from the system's CSPRNG.
    public static func randomEpoch() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = UInt32.random(in: .min ... .max, using: &generator)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// Assigns `topic`'s next offset, stores the message (dropping the topic's oldest beyond
    /// `size`), and runs `body` with the new position while still holding the lock that orders
    /// this topic, so the caller can hand the message on in offset order. Returns what `body` returns.
    ///
    /// `body` must not call back into this history. If it throws, the message stays stored.
    /// After the lock is released, the globally oldest messages are evicted if `maxBytes` is exceeded.
    ///
    /// - Parameter bytes: the payload's size, counted against `maxBytes`.
    public func append<R>(
        topic: String,
        userID: Int?,
        payload: Payload,
        bytes: Int,
        now: ContinuousClock.Instant? = nil,
        _ body: (StreamPosition) throws -> R
    ) rethrows -> R {
        // Without a given position every append is new, so `body` always runs.
        try self.store(topic: topic, userID: userID, payload: payload, bytes: bytes, at: nil, now: now ?? self.clock.now, body)!
    }

    /// Stores a message that something else numbered (a cluster's outbox) at `position`, and runs
    /// `body` like `append`. A position the stream already has (same epoch, offset not past the
    /// latest) is a repeat: nothing is stored, `body` does not run, and the result is nil. A
    /// position that skips ahead, or another epoch, restarts the stream there: what was held
    /// before is dropped, so a replay across the gap is unrecovered.
    public func append<R>(
        topic: String,
        userID: Int?,
        payload: Payload,
        bytes: Int,
        at position: StreamPosition,
        now: ContinuousClock.Instant? = nil,
        _ body: (StreamPosition) throws -> R
    ) rethrows -> R? {
        try self.store(topic: topic, userID: userID, payload: payload, bytes: bytes, at: position, now: now ?? self.clock.now, body)
    }

    private func store<R>(
        topic: String,
        userID: Int?,
        payload: Payload,
        bytes: Int,
        at position: StreamPosition?,
        now: ContinuousClock.Instant,
        _ body: (StreamPosition) throws -> R
    ) rethrows -> R? {
        defer { self.enforceByteCap() }
        let shard = self.shard(for: topic)
        return try shard.state.withLock { state in
            if let position, let existing = state.streams[topic], existing.epoch == position.epoch, position.offset <= existing.lastOffset {
                return nil
            }
            let seq = self.nextSeq.wrappingAdd(1, ordering: .relaxed).newValue
            var added = 0
            var stream: HistoryStream<Payload>
            if let existing = state.streams[topic] {
                stream = existing
            } else {
                stream = HistoryStream(topic: topic, epoch: position?.epoch ?? self.makeEpoch(), seq: seq, now: now)
                stream.lastOffset = position.map { $0.offset == 0 ? 0 : $0.offset - 1 } ?? 0
                state.streams[topic] = stream
                added += HistorySettings.streamOverhead
            }
            if let position, position.epoch != stream.epoch || position.offset != stream.lastOffset + 1 {
                added -= Self.restart(&stream, at: position, seq: seq, now: now, in: &state)
            }
            stream.lastOffset += 1
            stream.lastSeq = seq
            stream.lastPublish = now
            if self.settings.size > 0 {
                let cost = max(0, bytes) + HistorySettings.entryOverhead
                let entry = HistoryEntry(offset: stream.lastOffset, userID: userID, payload: payload)
                stream.entries.append(StoredEntry(entry: entry, seq: seq, time: now, cost: cost))
                added += cost
                state.entryCount += 1
                while stream.entries.count > self.settings.size {
                    added -= stream.entries.removeFirst().cost
                    state.entryCount -= 1
                }
            }
            // With entries this marks the new one; without (history off) it marks the stream.
            Self.push(OrderItem(seq: seq, stream: stream), to: &state, of: shard)
            self.totalBytes.wrappingAdd(added, ordering: .relaxed)
            return try body(stream.position)
        }
    }

    /// The messages of `topic` after `since` that a client of `userID` may see: those addressed
    /// to everyone or to that user. Taken under the topic's lock, so it is consistent with `append`.
    ///
    /// - No stream (never published, or forgotten by `trim` or eviction): not recovered, no
    ///   entries, position `("", 0)`.
    /// - Another epoch, or an offset past the current one: not recovered, no entries.
    /// - The current offset: recovered, no entries.
    /// - Otherwise recovered if every missed offset (`since.offset + 1` through the current one)
    ///   is still held; messages for other users count as held. Messages published `ttl` or
    ///   longer before `now` count as gone even if `trim` has not run yet.
    public func replay(
        topic: String,
        since: StreamPosition,
        forUser userID: Int,
        now: ContinuousClock.Instant? = nil
    ) -> Replay<Payload> {
        let now = now ?? self.clock.now
        let deadline: ContinuousClock.Instant? = self.settings.ttl > .zero ? now - self.settings.ttl : nil
        return self.shard(for: topic).state.withLock { state in
            guard let stream = state.streams[topic] else {
                return Replay(recovered: false, entries: [], position: StreamPosition(epoch: "", offset: 0))
            }
            let position = stream.position
            guard since.epoch == stream.epoch, since.offset <= stream.lastOffset else {
                return Replay(recovered: false, entries: [], position: position)
            }
            if since.offset == stream.lastOffset {
                return Replay(recovered: true, entries: [], position: position)
            }
            let held = stream.entries
            // Entries are in publish order, so the expired ones are a prefix.
            var firstLive = 0
            if let deadline {
                while firstLive < held.count, held[firstLive].time <= deadline {
                    firstLive += 1
                }
            }
            // Held offsets are contiguous and end at `lastOffset`.
            let firstLiveOffset = stream.lastOffset + 1 - UInt64(held.count - firstLive)
            let recovered = firstLiveOffset <= since.offset + 1
            let start = max(firstLive, held.count - Int(stream.lastOffset - since.offset))
            var entries: [HistoryEntry<Payload>] = []
            entries.reserveCapacity(held.count - start)
            for index in start..<held.count {
                let entry = held[index].entry
                if entry.userID == nil || entry.userID == userID {
                    entries.append(entry)
                }
            }
            return Replay(recovered: recovered, entries: entries, position: position)
        }
    }

    /// The position of `topic`'s stream, or nil if it has none.
    public func position(of topic: String) -> StreamPosition? {
        self.shard(for: topic).state.withLock { state in
            state.streams[topic]?.position
        }
    }

    /// The position of `topic`'s stream, creating an empty one (new epoch, offset 0) if it has
    /// none. Call it when a client subscribes, so the position it is given can be resumed from
    /// even if the topic had never been published to. A created stream counts as published `now`
    /// for `trim`, and costs `HistorySettings.streamOverhead`.
    @discardableResult
    public func openStream(_ topic: String, now: ContinuousClock.Instant? = nil) -> StreamPosition {
        let now = now ?? self.clock.now
        defer { self.enforceByteCap() }
        let shard = self.shard(for: topic)
        return shard.state.withLock { state in
            if let stream = state.streams[topic] {
                return stream.position
            }
            let seq = self.nextSeq.wrappingAdd(1, ordering: .relaxed).newValue
            let stream = HistoryStream<Payload>(topic: topic, epoch: self.makeEpoch(), seq: seq, now: now)
            state.streams[topic] = stream
            Self.push(OrderItem(seq: seq, stream: stream), to: &state, of: shard)
            self.totalBytes.wrappingAdd(HistorySettings.streamOverhead, ordering: .relaxed)
            return stream.position
        }
    }

    /// Drops messages published `ttl` or longer before `now`, and streams that hold no messages
    /// and were last published to `ttl` or longer ago (a later publish starts a new stream with a
    /// new epoch). Does nothing when `ttl` is `.zero`. Meant to run about once a second.
    public func trim(now: ContinuousClock.Instant? = nil) {
        guard self.settings.ttl > .zero else { return }
        let now = now ?? self.clock.now
        let deadline = now - self.settings.ttl
        for shard in self.shards {
            shard.state.withLock { state in
                var freed = 0
                var idle: [HistoryStream<Payload>] = []
                for stream in state.streams.values {
                    let dropped = stream.dropEntries(publishedBy: deadline)
                    state.entryCount -= dropped.count
                    freed += dropped.cost
                    if stream.entries.isEmpty, stream.lastPublish <= deadline {
                        idle.append(stream)
                    }
                }
                for stream in idle {
                    state.remove(stream)
                    freed += HistorySettings.streamOverhead
                }
                state.compactOrderIfNeeded()
                shard.oldestHint.store(state.oldest()?.seq ?? .max, ordering: .relaxed)
                if freed > 0 {
                    self.totalBytes.wrappingSubtract(freed, ordering: .relaxed)
                }
            }
        }
    }

    /// Streams, stored messages and the bytes counted against `maxBytes`.
    public var usage: (streams: Int, entries: Int, bytes: Int) {
        var streams = 0
        var entries = 0
        for shard in self.shards {
            let counts = shard.state.withLock { ($0.streams.count, $0.entryCount) }
            streams += counts.0
            entries += counts.1
        }
        return (streams, entries, self.totalBytes.load(ordering: .relaxed))
    }

    /// Publish-order items held over all shards, live and stale (for tests: it must stay bounded).
    var orderItemCount: Int {
        self.shards.reduce(0) { total, shard in total + shard.state.withLock { $0.order.count } }
    }

    /// Restarts `stream` just before `position`: a new stream for another epoch, else the same one
    /// emptied. Returns the bytes freed (net of a new stream's overhead).
    private static func restart(
        _ stream: inout HistoryStream<Payload>, at position: StreamPosition, seq: UInt64, now: ContinuousClock.Instant,
        in state: inout HistoryShardState<Payload>
    ) -> Int {
        let dropped = stream.entries.reduce(0) { $0 + $1.cost }
        state.entryCount -= stream.entries.count
        stream.entries.removeAll()
        guard position.epoch != stream.epoch else {
            stream.lastOffset = (position.offset == 0 ? 0 : position.offset - 1)
            return dropped
        }
        state.remove(stream)
        stream = HistoryStream(topic: stream.topic, epoch: position.epoch, seq: seq, now: now)
        stream.lastOffset = (position.offset == 0 ? 0 : position.offset - 1)
        state.streams[stream.topic] = stream
        return dropped
    }

    /// Adds `item` to the shard's publish order (lowering the shard's hint if it held nothing).
    private static func push(_ item: OrderItem<Payload>, to state: inout HistoryShardState<Payload>, of shard: Shard) {
        if state.order.isEmpty {
            shard.oldestHint.store(item.seq, ordering: .relaxed)
        }
        state.order.append(item)
        state.compactOrderIfNeeded()
    }

    /// Evicts the globally oldest messages (and then empty streams) until the byte count is back
    /// under `maxBytes`. Never holds two shard locks: the shards' hints pick the shard whose
    /// oldest item may be the oldest of all; that shard is locked and drained until its oldest is
    /// no longer older than the next shard's hint, and its hint is made exact.
    private func enforceByteCap() {
        let cap = self.settings.maxBytes
        guard self.totalBytes.load(ordering: .relaxed) > cap else { return }
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: self.shards.count) { hints in
            for index in self.shards.indices {
                hints[index] = self.shards[index].oldestHint.load(ordering: .relaxed)
            }
            var reloaded = false
            while self.totalBytes.load(ordering: .relaxed) > cap {
                var best = -1
                var bestSeq = UInt64.max
                var runnerUp = UInt64.max
                for index in self.shards.indices {
                    let hint = hints[index]
                    if hint < bestSeq {
                        runnerUp = bestSeq
                        bestSeq = hint
                        best = index
                    } else if hint < runnerUp {
                        runnerUp = hint
                    }
                }
                guard best >= 0 else {
                    // Shards that got their first item since the hints were read are not in `hints`.
                    guard !reloaded else { return }  // nothing left to evict
                    reloaded = true
                    for index in self.shards.indices {
                        hints[index] = self.shards[index].oldestHint.load(ordering: .relaxed)
                    }
                    continue
                }
                let shard = self.shards[best]
                hints[best] = shard.state.withLock { state in
                    while self.totalBytes.load(ordering: .relaxed) > cap, let freed = state.evictOldest(notAfter: runnerUp) {
                        self.totalBytes.wrappingSubtract(freed, ordering: .relaxed)
                    }
                    let oldest = state.oldest()?.seq ?? .max
                    shard.oldestHint.store(oldest, ordering: .relaxed)
                    return oldest
                }
            }
        }
    }

    private func shard(for topic: String) -> Shard {
        self.shards[Int(UInt(bitPattern: topic.hashValue) % UInt(self.shards.count))]
    }
}
