import Dispatch
import Synchronization
import Testing

@testable import RelayCore

/// Epochs "e1", "e2"... in creation order, so tests can name them.
private func countingEpochs() -> @Sendable () -> String {
    let counter = Atomic<Int>(0)
    return { "e\(counter.wrappingAdd(1, ordering: .relaxed).newValue)" }
}

private typealias History = TopicHistory<String>

private func makeHistory(size: Int = 100, ttl: Duration = .seconds(120), maxBytes: Int = 64 << 20, shardCount: Int = 64) -> History {
    History(settings: HistorySettings(size: size, ttl: ttl, maxBytes: maxBytes), shardCount: shardCount, makeEpoch: countingEpochs())
}

extension TopicHistory where Payload == String {
    /// Appends `count` messages "<topic>-<offset>" and returns the last position.
    @discardableResult
    fileprivate func publish(_ topic: String, count: Int = 1, userID: Int? = nil, bytes: Int = 100, at now: ContinuousClock.Instant) -> StreamPosition
    {
        var last = StreamPosition(epoch: "", offset: 0)
        for _ in 0..<count {
            let next = (self.position(of: topic)?.offset ?? 0) + 1
            last = self.append(topic: topic, userID: userID, payload: "\(topic)-\(next)", bytes: bytes, now: now) { $0 }
        }
        return last
    }
}

private func offsets(_ replay: Replay<String>) -> [UInt64] {
    replay.entries.map(\.offset)
}

@Suite("Topic history")
struct TopicHistoryTests {
    private let start = ContinuousClock.now

    // MARK: offsets and the body

    @Test func offsetsCountFromOneAndBodySeesTheNewPosition() {
        let history = makeHistory()
        #expect(history.position(of: "cats") == nil)
        for expected in 1...3 as ClosedRange<UInt64> {
            let answer = history.append(topic: "cats", userID: nil, payload: "m\(expected)", bytes: 2, now: start) { position in
                #expect(position == StreamPosition(epoch: "e1", offset: expected))
                return "body \(position.offset)"
            }
            #expect(answer == "body \(expected)")
        }
        #expect(history.position(of: "cats") == StreamPosition(epoch: "e1", offset: 3))
        // Another topic has its own stream and epoch.
        let dogs = history.append(topic: "dogs", userID: nil, payload: "woof", bytes: 4, now: start) { $0 }
        #expect(dogs == StreamPosition(epoch: "e2", offset: 1))
        #expect(history.position(of: "cats")?.offset == 3)
        #expect(history.position(of: "birds") == nil)
        let usage = history.usage
        #expect(usage.streams == 2)
        #expect(usage.entries == 4)
        #expect(usage.bytes == 2 * HistorySettings.streamOverhead + 4 * HistorySettings.entryOverhead + 3 * 2 + 4)
    }

    @Test func concurrentAppendsRunBodiesInOffsetOrder() {
        let history = makeHistory(size: 10_000)
        let seen = Mutex<[UInt64]>([])
        let threads = 8
        let perThread = 500
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for index in 0..<perThread {
                history.append(topic: "hot", userID: nil, payload: "\(thread)-\(index)", bytes: 8) { position in
                    seen.withLock { $0.append(position.offset) }
                }
            }
        }
        let recorded = seen.withLock { $0 }
        #expect(recorded == Array(1...UInt64(threads * perThread)))
        let replay = history.replay(topic: "hot", since: StreamPosition(epoch: "e1", offset: 0), forUser: 1)
        #expect(replay.recovered)
        #expect(offsets(replay) == recorded)
    }

    @Test func aThrowingBodyRethrowsAndTheMessageStaysStored() {
        struct Refused: Error {}
        let history = makeHistory()
        #expect(throws: Refused.self) {
            try history.append(topic: "cats", userID: nil, payload: "m1", bytes: 2, now: start) { _ in throw Refused() }
        }
        #expect(history.position(of: "cats") == StreamPosition(epoch: "e1", offset: 1))
        #expect(offsets(history.replay(topic: "cats", since: .init(epoch: "e1", offset: 0), forUser: 1, now: start)) == [1])
    }

    // MARK: replay rules

    @Test func replayReturnsExactlyTheMissedMessagesInOrder() {
        let history = makeHistory()
        history.publish("cats", count: 10, at: start)
        let replay = history.replay(topic: "cats", since: .init(epoch: "e1", offset: 4), forUser: 1, now: start)
        #expect(replay.recovered)
        #expect(offsets(replay) == [5, 6, 7, 8, 9, 10])
        #expect(replay.entries.map(\.payload) == (5...10).map { "cats-\($0)" })
        #expect(replay.position == StreamPosition(epoch: "e1", offset: 10))

        let everything = history.replay(topic: "cats", since: .init(epoch: "e1", offset: 0), forUser: 1, now: start)
        #expect(everything.recovered)
        #expect(offsets(everything) == Array(1...10))

        let one = history.replay(topic: "cats", since: .init(epoch: "e1", offset: 9), forUser: 1, now: start)
        #expect(one.recovered)
        #expect(offsets(one) == [10])
    }

    @Test func replayAtTheCurrentPositionIsRecoveredAndEmpty() {
        let history = makeHistory()
        let position = history.publish("cats", count: 3, at: start)
        let replay = history.replay(topic: "cats", since: position, forUser: 1, now: start)
        #expect(replay.recovered)
        #expect(replay.entries.isEmpty)
        #expect(replay.position == position)
    }

    @Test func aMissingStreamIsNotRecovered() {
        let history = makeHistory()
        for since in [StreamPosition(epoch: "", offset: 0), StreamPosition(epoch: "e1", offset: 0), StreamPosition(epoch: "e1", offset: 3)] {
            let replay = history.replay(topic: "nobody", since: since, forUser: 1, now: start)
            #expect(!replay.recovered)
            #expect(replay.entries.isEmpty)
            #expect(replay.position == StreamPosition(epoch: "", offset: 0))
        }
    }

    @Test func anotherEpochIsNotRecovered() {
        let history = makeHistory()
        history.publish("cats", count: 5, at: start)
        for since in [StreamPosition(epoch: "old", offset: 2), StreamPosition(epoch: "old", offset: 5), StreamPosition(epoch: "", offset: 0)] {
            let replay = history.replay(topic: "cats", since: since, forUser: 1, now: start)
            #expect(!replay.recovered)
            #expect(replay.entries.isEmpty)
            #expect(replay.position == StreamPosition(epoch: "e1", offset: 5))
        }
    }

    @Test func aPositionAheadOfTheStreamIsNotRecovered() {
        let history = makeHistory()
        history.publish("cats", count: 5, at: start)
        let replay = history.replay(topic: "cats", since: .init(epoch: "e1", offset: 6), forUser: 1, now: start)
        #expect(!replay.recovered)
        #expect(replay.entries.isEmpty)
        #expect(replay.position == StreamPosition(epoch: "e1", offset: 5))
    }

    @Test func sizeEvictionLosesTheOldestAndReplaysWhatIsLeft() {
        let history = makeHistory(size: 5)
        history.publish("cats", count: 10, at: start)
        #expect(history.usage.entries == 5)

        let far = history.replay(topic: "cats", since: .init(epoch: "e1", offset: 2), forUser: 1, now: start)
        #expect(!far.recovered)
        #expect(offsets(far) == [6, 7, 8, 9, 10])
        // Missed 5...10 but only 6...10 are held.
        let oneShort = history.replay(topic: "cats", since: .init(epoch: "e1", offset: 4), forUser: 1, now: start)
        #expect(!oneShort.recovered)
        #expect(offsets(oneShort) == [6, 7, 8, 9, 10])
        let justEnough = history.replay(topic: "cats", since: .init(epoch: "e1", offset: 5), forUser: 1, now: start)
        #expect(justEnough.recovered)
        #expect(offsets(justEnough) == [6, 7, 8, 9, 10])
        #expect(history.usage.bytes == HistorySettings.streamOverhead + 5 * (100 + HistorySettings.entryOverhead))
    }

    @Test func messagesOlderThanTTLAreGoneBeforeTrimRuns() {
        let history = makeHistory(ttl: .seconds(10))
        history.publish("cats", count: 3, at: start)  // 1...3
        history.publish("cats", count: 2, at: start + .seconds(5))  // 4, 5
        let since0 = StreamPosition(epoch: "e1", offset: 0)
        let since3 = StreamPosition(epoch: "e1", offset: 3)

        let young = history.replay(topic: "cats", since: since0, forUser: 1, now: start + .seconds(9))
        #expect(young.recovered)
        #expect(offsets(young) == [1, 2, 3, 4, 5])
        // Exactly ttl old counts as expired.
        let expired = history.replay(topic: "cats", since: since0, forUser: 1, now: start + .seconds(10))
        #expect(!expired.recovered)
        #expect(offsets(expired) == [4, 5])
        let resumable = history.replay(topic: "cats", since: since3, forUser: 1, now: start + .seconds(11))
        #expect(resumable.recovered)
        #expect(offsets(resumable) == [4, 5])

        let allGone = history.replay(topic: "cats", since: since3, forUser: 1, now: start + .seconds(16))
        #expect(!allGone.recovered)
        #expect(allGone.entries.isEmpty)
        #expect(allGone.position == StreamPosition(epoch: "e1", offset: 5))
        // Nothing missed, nothing needed.
        #expect(history.replay(topic: "cats", since: allGone.position, forUser: 1, now: start + .seconds(16)).recovered)
        #expect(history.usage.entries == 5)  // still stored until trim
    }

    @Test func messagesForOtherUsersAreSkippedButStillCountAsHeld() {
        let history = makeHistory(size: 3)
        history.publish("cats", userID: nil, at: start)  // 1
        history.publish("cats", userID: 7, at: start)  // 2
        history.publish("cats", userID: 8, at: start)  // 3
        history.publish("cats", userID: nil, at: start)  // 4: now 2...4 are held

        let forEight = history.replay(topic: "cats", since: .init(epoch: "e1", offset: 1), forUser: 8, now: start)
        #expect(forEight.recovered)
        #expect(offsets(forEight) == [3, 4])
        let forSeven = history.replay(topic: "cats", since: .init(epoch: "e1", offset: 1), forUser: 7, now: start)
        #expect(forSeven.recovered)
        #expect(offsets(forSeven) == [2, 4])
        #expect(forSeven.entries.map(\.userID) == [7, nil])
        let forNine = history.replay(topic: "cats", since: .init(epoch: "e1", offset: 2), forUser: 9, now: start)
        #expect(forNine.recovered)
        #expect(offsets(forNine) == [4])
        // Missed only messages for others: recovered with nothing to deliver.
        history.publish("cats", userID: 8, at: start)  // 5: now 3...5 are held
        let nothingForNine = history.replay(topic: "cats", since: .init(epoch: "e1", offset: 4), forUser: 9, now: start)
        #expect(nothingForNine.recovered)
        #expect(nothingForNine.entries.isEmpty)
        #expect(nothingForNine.position == StreamPosition(epoch: "e1", offset: 5))
        let lost = history.replay(topic: "cats", since: .init(epoch: "e1", offset: 0), forUser: 8, now: start)
        #expect(!lost.recovered)
        #expect(offsets(lost) == [3, 4, 5])
    }

    // MARK: the global byte cap

    @Test func globallyOldestMessagesGoFirstAndThenEmptyStreams() {
        let entry = 100 + HistorySettings.entryOverhead
        let cap = 2 * HistorySettings.streamOverhead + 10 * entry  // exactly A×5 + B×5
        let history = makeHistory(maxBytes: cap)
        history.publish("a", count: 5, at: start)
        history.publish("b", count: 5, at: start)
        #expect(history.usage.bytes == cap)
        #expect(history.usage.entries == 10)

        history.publish("b", at: start)  // one over: a's oldest goes
        #expect(history.usage.bytes == cap)
        let a = history.replay(topic: "a", since: .init(epoch: "e1", offset: 0), forUser: 1, now: start)
        #expect(!a.recovered)
        #expect(offsets(a) == [2, 3, 4, 5])
        let b = history.replay(topic: "b", since: .init(epoch: "e2", offset: 0), forUser: 1, now: start)
        #expect(b.recovered)
        #expect(offsets(b) == Array(1...6))

        history.publish("b", count: 4, at: start)  // a loses everything, b nothing
        #expect(history.usage.entries == 10)
        #expect(offsets(history.replay(topic: "b", since: .init(epoch: "e2", offset: 0), forUser: 1, now: start)) == Array(1...10))
        // a's empty stream still fits, so a client that saw all of a still resumes.
        #expect(history.position(of: "a") == StreamPosition(epoch: "e1", offset: 5))
        #expect(history.replay(topic: "a", since: .init(epoch: "e1", offset: 5), forUser: 1, now: start).recovered)

        history.publish("b", at: start)  // now a's empty stream is the oldest thing
        #expect(history.position(of: "a") == nil)
        #expect(history.usage.streams == 1)
        #expect(history.usage.entries == 11)
        #expect(history.usage.bytes == HistorySettings.streamOverhead + 11 * entry)
        #expect(history.replay(topic: "b", since: .init(epoch: "e2", offset: 0), forUser: 1, now: start).recovered)
    }

    @Test func theByteCapHoldsAfterEveryAppendUnderAFloodOverManyTopics() {
        let cap = 50_000
        let history = makeHistory(size: 20, maxBytes: cap, shardCount: 8)
        for step in 0..<5_000 {
            // A fixed, well-spread sequence of topics and sizes (Knuth's multiplicative hash).
            let spread = (step &* 2_654_435_761) & 0xFFFF_FFFF
            let topic = "t\(spread % 300)"
            let bytes = (spread >> 9) % 400
            history.append(topic: topic, userID: nil, payload: "x", bytes: bytes, now: start + .milliseconds(step)) { _ in }
            let usage = history.usage
            #expect(usage.bytes <= cap, "over the cap after append \(step)")
            if usage.bytes > cap { break }
        }
        let usage = history.usage
        #expect(usage.entries > 0)
        #expect(usage.bytes > cap - 1_000)
    }

    @Test func theByteCapHoldsUnderConcurrentFloods() {
        let cap = 40_000
        let history = makeHistory(size: 50, maxBytes: cap, shardCount: 16)
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for index in 0..<3_000 {
                history.append(topic: "t\((index * 7 + thread) % 200)", userID: nil, payload: "p", bytes: 50) { _ in }
            }
        }
        let usage = history.usage
        #expect(usage.bytes <= cap)
        // The byte count matches what is actually stored.
        #expect(usage.bytes == usage.streams * HistorySettings.streamOverhead + usage.entries * (50 + HistorySettings.entryOverhead))
        // Every remaining stream replays as a contiguous tail ending at its position.
        for topic in 0..<200 {
            guard let position = history.position(of: "t\(topic)") else { continue }
            let replay = history.replay(topic: "t\(topic)", since: .init(epoch: position.epoch, offset: 0), forUser: 0)
            if let first = replay.entries.first?.offset {
                #expect(offsets(replay) == Array(first...position.offset))
            }
        }
    }

    @Test func aMessageBiggerThanTheCapEvictsAllMessages() {
        let history = makeHistory(maxBytes: 1_000)
        history.publish("a", count: 2, at: start)
        let position = history.publish("b", bytes: 5_000, at: start)
        #expect(position == StreamPosition(epoch: "e2", offset: 1))
        // Everything goes, oldest first, down to b's own message; b's empty stream still fits.
        #expect(history.position(of: "a") == nil)
        #expect(history.usage.entries == 0)
        #expect(history.usage.streams == 1)
        #expect(history.usage.bytes == HistorySettings.streamOverhead)
        #expect(history.position(of: "b") == position)
        let replay = history.replay(topic: "b", since: .init(epoch: "e2", offset: 0), forUser: 1, now: start)
        #expect(!replay.recovered)
        #expect(replay.entries.isEmpty)
        #expect(history.replay(topic: "b", since: position, forUser: 1, now: start).recovered)
    }

    // MARK: trim

    @Test func trimDropsExpiredMessagesAndIdleStreamsAndARepublishGetsANewEpoch() {
        let history = makeHistory(ttl: .seconds(10))
        let old = history.publish("a", count: 3, at: start)
        history.publish("b", count: 2, at: start + .seconds(8))

        history.trim(now: start + .seconds(9))
        #expect(history.usage.streams == 2)
        #expect(history.usage.entries == 5)

        history.trim(now: start + .seconds(10))
        #expect(history.position(of: "a") == nil)
        #expect(history.position(of: "b") == StreamPosition(epoch: "e2", offset: 2))
        #expect(history.usage.streams == 1)
        #expect(history.usage.entries == 2)
        #expect(history.usage.bytes == HistorySettings.streamOverhead + 2 * (100 + HistorySettings.entryOverhead))

        let restarted = history.publish("a", at: start + .seconds(11))
        #expect(restarted == StreamPosition(epoch: "e3", offset: 1))
        let replay = history.replay(topic: "a", since: old, forUser: 1, now: start + .seconds(11))
        #expect(!replay.recovered)
        #expect(replay.entries.isEmpty)
        #expect(replay.position == restarted)

        history.trim(now: start + .seconds(30))
        #expect(history.usage.streams == 0)
        #expect(history.usage.entries == 0)
        #expect(history.usage.bytes == 0)
    }

    @Test func trimKeepsAPartlyExpiredStream() {
        let history = makeHistory(ttl: .seconds(10))
        history.publish("a", count: 2, at: start)
        history.publish("a", count: 2, at: start + .seconds(6))
        history.trim(now: start + .seconds(12))
        #expect(history.usage.entries == 2)
        let replay = history.replay(topic: "a", since: .init(epoch: "e1", offset: 2), forUser: 1, now: start + .seconds(12))
        #expect(replay.recovered)
        #expect(offsets(replay) == [3, 4])
        #expect(history.usage.bytes == HistorySettings.streamOverhead + 2 * (100 + HistorySettings.entryOverhead))
    }

    @Test func zeroTTLMeansNoAgeLimit() {
        let history = makeHistory(ttl: .zero)
        history.publish("a", count: 3, at: start)
        let later = start + .seconds(86_400)
        history.trim(now: later)
        let replay = history.replay(topic: "a", since: .init(epoch: "e1", offset: 0), forUser: 1, now: later)
        #expect(replay.recovered)
        #expect(offsets(replay) == [1, 2, 3])
    }

    // MARK: disabled history, open streams, epochs

    @Test func disabledHistoryStoresNothingButStillCountsOffsets() {
        let history = makeHistory(size: 0)
        #expect(!history.settings.isEnabled)
        let position = history.publish("a", count: 3, at: start)
        #expect(position == StreamPosition(epoch: "e1", offset: 3))
        #expect(history.usage.entries == 0)
        #expect(history.usage.streams == 1)
        #expect(history.usage.bytes == HistorySettings.streamOverhead)
        #expect(history.replay(topic: "a", since: position, forUser: 1, now: start).recovered)
        let behind = history.replay(topic: "a", since: .init(epoch: "e1", offset: 1), forUser: 1, now: start)
        #expect(!behind.recovered)
        #expect(behind.entries.isEmpty)
    }

    @Test func openStreamGivesAResumablePositionBeforeTheFirstPublish() {
        let history = makeHistory(ttl: .seconds(10))
        let opened = history.openStream("a", now: start)
        #expect(opened == StreamPosition(epoch: "e1", offset: 0))
        #expect(history.openStream("a", now: start) == opened)
        #expect(history.replay(topic: "a", since: opened, forUser: 1, now: start).recovered)
        history.publish("a", count: 2, at: start + .seconds(1))
        let replay = history.replay(topic: "a", since: opened, forUser: 1, now: start + .seconds(1))
        #expect(replay.recovered)
        #expect(offsets(replay) == [1, 2])
        #expect(history.openStream("a", now: start) == StreamPosition(epoch: "e1", offset: 2))

        // An opened stream that is never published to is trimmed after ttl.
        history.openStream("quiet", now: start)
        history.trim(now: start + .seconds(10))
        #expect(history.position(of: "quiet") == nil)
        #expect(history.position(of: "a") != nil)
    }

    @Test func randomEpochsAreEightLowercaseHexCharacters() {
        let epochs = (0..<50).map { _ in History.randomEpoch() }
        for epoch in epochs {
            #expect(epoch.count == 8)
            #expect(epoch.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) })
        }
        #expect(Set(epochs).count > 1)
        let history = History(settings: HistorySettings(size: 10))
        let position = history.append(topic: "a", userID: nil, payload: "x", bytes: 1) { $0 }
        #expect(position.epoch.count == 8)
        #expect(position.offset == 1)
    }

    @Test func replaysStayConsistentWhileAppending() {
        let history = makeHistory(size: 64)
        let total = 5_000
        DispatchQueue.concurrentPerform(iterations: 2) { role in
            if role == 0 {
                for index in 0..<total {
                    history.append(topic: "live", userID: index % 3 == 0 ? 5 : nil, payload: "\(index)", bytes: 4) { _ in }
                }
            } else {
                while history.position(of: "live")?.offset ?? 0 < UInt64(total) {
                    guard let epoch = history.position(of: "live")?.epoch else { continue }
                    // User 5 sees everything (messages to nobody in particular or to 5), so each
                    // replay is a contiguous tail of at most `size` ending at its position.
                    let replay = history.replay(topic: "live", since: .init(epoch: epoch, offset: 0), forUser: 5)
                    let seen = offsets(replay)
                    #expect(seen.count <= 64)
                    #expect(seen == (seen.first.map { Array($0...replay.position.offset) } ?? []))
                    #expect(replay.recovered == (seen.first == 1))
                }
            }
        }
        #expect(history.position(of: "live")?.offset == UInt64(total))
        #expect(history.usage.entries == 64)
    }
}

@Suite("Topic history storage")
struct TopicHistoryStorageTests {
    private let start = ContinuousClock.now
    /// Messages that leave the history (by size or by ttl) are released at once: the history
    /// keeps no payload alive that it no longer holds.
    @Test func payloadsAreReleasedWhenTheyLeave() {
        final class Box: Sendable {}
        weak var evicted: Box?
        weak var expired: Box?
        weak var kept: Box?
        let start = ContinuousClock.now
        let history = TopicHistory<Box>(settings: HistorySettings(size: 1, ttl: .seconds(10)), makeEpoch: { "e" })
        do {
            let (a, b, c) = (Box(), Box(), Box())
            (evicted, expired, kept) = (a, b, c)
            history.append(topic: "size", userID: nil, payload: a, bytes: 1, now: start) { _ in }
            history.append(topic: "ttl", userID: nil, payload: b, bytes: 1, now: start) { _ in }
            history.append(topic: "size", userID: nil, payload: c, bytes: 1, now: start + .seconds(5)) { _ in }
        }
        #expect(evicted == nil, "beyond size")
        history.trim(now: start + .seconds(11))
        #expect(expired == nil, "past ttl")
        #expect(kept != nil)
    }

    @Test func stalePublishOrderItemsStayBounded() {
        let history = TopicHistory<String>(settings: HistorySettings(size: 5), shardCount: 4)
        for index in 0..<20_000 {
            history.append(topic: "t\(index % 10)", userID: nil, payload: "x", bytes: 1) { _ in }
        }
        let usage = history.usage
        #expect(usage.entries == 50)
        #expect(history.orderItemCount <= 2 * (usage.entries + usage.streams) + 4 * 64)

        let disabled = TopicHistory<String>(settings: HistorySettings(size: 0), shardCount: 1)
        for index in 0..<10_000 {
            disabled.append(topic: "t\(index % 3)", userID: nil, payload: "x", bytes: 1) { _ in }
        }
        #expect(disabled.orderItemCount <= 2 * 3 + 64)
    }

    // MARK: positions given by a cluster's outbox

    @Test func givenPositionsAreKeptAndReplayedAsIs() {
        let history = makeHistory()
        for offset in 41...44 as ClosedRange<UInt64> {
            let position = history.append(
                topic: "cats", userID: nil, payload: "m\(offset)", bytes: 2, at: StreamPosition(epoch: "C", offset: offset), now: start
            ) { $0 }
            #expect(position == StreamPosition(epoch: "C", offset: offset))
        }
        let replay = history.replay(topic: "cats", since: StreamPosition(epoch: "C", offset: 42), forUser: 1, now: start)
        #expect(replay.recovered && offsets(replay) == [43, 44])
        // The stream started at 41: what came before is not held.
        #expect(!history.replay(topic: "cats", since: StreamPosition(epoch: "C", offset: 39), forUser: 1, now: start).recovered)
        #expect(history.replay(topic: "cats", since: StreamPosition(epoch: "C", offset: 40), forUser: 1, now: start).recovered)
        // A repeat (an offset the stream already has) changes nothing and runs no body.
        let repeated = history.append(
            topic: "cats", userID: nil, payload: "again", bytes: 2, at: StreamPosition(epoch: "C", offset: 43), now: start
        ) { _ in "ran" }
        #expect(repeated == nil)
        #expect(offsets(history.replay(topic: "cats", since: StreamPosition(epoch: "C", offset: 40), forUser: 1, now: start)) == [41, 42, 43, 44])
    }

    @Test func aGapOrAnotherEpochRestartsTheStreamAndFreesWhatItHeld() {
        let history = makeHistory()
        for offset in 1...3 as ClosedRange<UInt64> {
            history.append(topic: "cats", userID: nil, payload: "m", bytes: 10, at: StreamPosition(epoch: "C", offset: offset), now: start) { _ in }
        }
        history.append(topic: "cats", userID: nil, payload: "m", bytes: 10, at: StreamPosition(epoch: "C", offset: 7), now: start) { _ in }
        #expect(history.usage.entries == 1)
        #expect(history.usage.bytes == HistorySettings.streamOverhead + HistorySettings.entryOverhead + 10)
        let acrossGap = history.replay(topic: "cats", since: StreamPosition(epoch: "C", offset: 3), forUser: 1, now: start)
        #expect(!acrossGap.recovered && offsets(acrossGap) == [7])
        history.append(topic: "cats", userID: nil, payload: "m", bytes: 10, at: StreamPosition(epoch: "D", offset: 1), now: start) { _ in }
        #expect(history.position(of: "cats") == StreamPosition(epoch: "D", offset: 1))
        #expect(history.usage.streams == 1 && history.usage.entries == 1)
        #expect(!history.replay(topic: "cats", since: StreamPosition(epoch: "C", offset: 7), forUser: 1, now: start).recovered)
        #expect(history.replay(topic: "cats", since: StreamPosition(epoch: "D", offset: 0), forUser: 1, now: start).recovered)
        // Evicting by the byte cap still works on restarted streams.
        history.trim(now: start + .seconds(500))
        #expect(history.usage.bytes == 0 && history.usage.streams == 0)
    }
}
