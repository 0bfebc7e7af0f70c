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
    }

    public let settings: HistorySettings
    private let shards: [Shard]
    private let makeEpoch: @Sendable () -> String
    /// Global publish order, drawn under the shard lock, so each shard's items are increasing.
    private let nextSeq = Atomic<UInt64>(0)
    /// Bytes counted against `settings.maxBytes`, over all shards.
    private let totalBytes = Atomic<Int>(0)

    /// - Parameter makeEpoch: the epoch of each new stream; must return a non-empty string that
    ///   differs from the epochs of earlier streams of the same topic (random is fine).
    public init(
        settings: HistorySettings,
        shardCount: Int = 64,
        makeEpoch: @escaping @Sendable () -> String = TopicHistory.randomEpoch
    ) {
        self.settings = settings
        self.shards = (0..<max(1, shardCount)).map { _ in Shard() }
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
        now: ContinuousClock.Instant = .now,
        _ body: (StreamPosition) throws -> R
    ) rethrows -> R {
        defer { self.enforceByteCap() }
        return try self.shard(for: topic).state.withLock { state in
            let seq = self.nextSeq.wrappingAdd(1, ordering: .relaxed).newValue
            let (position, added, addedEntries) = self.record(
                in: &state.streams[topic, default: HistoryStream(epoch: "", lastPublish: now)],
                userID: userID,
                payload: payload,
                cost: max(0, bytes) + HistorySettings.entryOverhead,
                seq: seq,
                now: now
            )
            state.entryCount += addedEntries
            state.order.append(OrderItem(seq: seq, topic: topic))
            state.compactOrderIfNeeded()
            self.totalBytes.wrappingAdd(added, ordering: .relaxed)
            return try body(position)
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
        now: ContinuousClock.Instant = .now
    ) -> Replay<Payload> {
        let deadline: ContinuousClock.Instant? = self.settings.ttl > .zero ? now - self.settings.ttl : nil
        return self.shard(for: topic).state.withLock { state in
            guard let stream = state.streams[topic] else {
                return Replay(recovered: false, entries: [], position: StreamPosition(epoch: "", offset: 0))
            }
            let position = StreamPosition(epoch: stream.epoch, offset: stream.lastOffset)
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
            state.streams[topic].map { StreamPosition(epoch: $0.epoch, offset: $0.lastOffset) }
        }
    }

    /// The position of `topic`'s stream, creating an empty one (new epoch, offset 0) if it has
    /// none. Call it when a client subscribes, so the position it is given can be resumed from
    /// even if the topic had never been published to. A created stream counts as published `now`
    /// for `trim`, and costs `HistorySettings.streamOverhead`.
    @discardableResult
    public func openStream(_ topic: String, now: ContinuousClock.Instant = .now) -> StreamPosition {
        defer { self.enforceByteCap() }
        return self.shard(for: topic).state.withLock { state in
            if let stream = state.streams[topic] {
                return StreamPosition(epoch: stream.epoch, offset: stream.lastOffset)
            }
            let seq = self.nextSeq.wrappingAdd(1, ordering: .relaxed).newValue
            let stream = HistoryStream<Payload>(epoch: self.makeEpoch(), lastSeq: seq, lastPublish: now)
            state.streams[topic] = stream
            state.order.append(OrderItem(seq: seq, topic: topic))
            state.compactOrderIfNeeded()
            self.totalBytes.wrappingAdd(HistorySettings.streamOverhead, ordering: .relaxed)
            return StreamPosition(epoch: stream.epoch, offset: 0)
        }
    }

    /// Drops messages published `ttl` or longer before `now`, and streams that hold no messages
    /// and were last published to `ttl` or longer ago (a later publish starts a new stream with a
    /// new epoch). Does nothing when `ttl` is `.zero`. Meant to run about once a second.
    public func trim(now: ContinuousClock.Instant = .now) {
        guard self.settings.ttl > .zero else { return }
        let deadline = now - self.settings.ttl
        for shard in self.shards {
            shard.state.withLock { state in
                var freed = 0
                var idle: [String] = []
                for index in state.streams.indices {
                    let dropped = state.streams.values[index].dropEntries(publishedBy: deadline)
                    state.entryCount -= dropped.count
                    freed += dropped.cost
                    if state.streams.values[index].entries.isEmpty, state.streams.values[index].lastPublish <= deadline {
                        idle.append(state.streams.keys[index])
                    }
                }
                for topic in idle {
                    state.streams[topic] = nil
                    freed += HistorySettings.streamOverhead
                }
                state.compactOrderIfNeeded()
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

    /// Advances `stream` by one message. Returns the new position, and the change in bytes and entries.
    private func record(
        in stream: inout HistoryStream<Payload>,
        userID: Int?,
        payload: Payload,
        cost: Int,
        seq: UInt64,
        now: ContinuousClock.Instant
    ) -> (StreamPosition, bytes: Int, entries: Int) {
        var bytes = 0
        var entries = 0
        if stream.lastSeq == 0 {   // just created by the subscript's default
            stream.epoch = self.makeEpoch()
            bytes += HistorySettings.streamOverhead
        }
        stream.lastOffset += 1
        stream.lastSeq = seq
        stream.lastPublish = now
        if self.settings.size > 0 {
            let entry = HistoryEntry(offset: stream.lastOffset, userID: userID, payload: payload)
            stream.entries.append(StoredEntry(entry: entry, seq: seq, time: now, cost: cost))
            bytes += cost
            entries += 1
            while stream.entries.count > self.settings.size {
                bytes -= stream.entries.removeFirst().cost
                entries -= 1
            }
        }
        return (StreamPosition(epoch: stream.epoch, offset: stream.lastOffset), bytes, entries)
    }

    /// Evicts the globally oldest messages (and then empty streams) until the byte count is back
    /// under `maxBytes`. Locks one shard at a time: a scan of every shard's oldest item finds the
    /// shard to evict from, and that shard is drained until it is no longer the oldest.
    private func enforceByteCap() {
        let cap = self.settings.maxBytes
        while self.totalBytes.load(ordering: .relaxed) > cap {
            var oldest: (shard: Int, seq: UInt64)?
            var runnerUp = UInt64.max
            for index in self.shards.indices {
                guard let seq = self.shards[index].state.withLock({ $0.oldest()?.seq }) else { continue }
                if let current = oldest, current.seq < seq {
                    runnerUp = min(runnerUp, seq)
                } else {
                    if let current = oldest {
                        runnerUp = min(runnerUp, current.seq)
                    }
                    oldest = (index, seq)
                }
            }
            guard let oldest else { return }   // nothing left to evict
            self.shards[oldest.shard].state.withLock { state in
                while self.totalBytes.load(ordering: .relaxed) > cap, let freed = state.evictOldest(notAfter: runnerUp) {
                    self.totalBytes.wrappingSubtract(freed, ordering: .relaxed)
                }
            }
        }
    }

    private func shard(for topic: String) -> Shard {
        self.shards[Int(UInt(bitPattern: topic.hashValue) % UInt(self.shards.count))]
    }
}
