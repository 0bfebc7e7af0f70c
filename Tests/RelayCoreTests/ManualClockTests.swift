import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import RelayCore

@Suite("ManualClock")
struct ManualClockTests {
    let eventLoop = MultiThreadedEventLoopGroup.singleton.any()

    @Test func timeMovesOnlyWhenAdvanced() async throws {
        let clock = ManualClock(secondsSince1970: 1_000)
        let start = clock.now
        #expect(clock.now == start)
        #expect(clock.secondsSince1970 == 1_000)
        try await clock.advance(by: .milliseconds(1_500))
        #expect(clock.now - start == .milliseconds(1_500))
        #expect(clock.secondsSince1970 == 1_001.5)
        #expect(clock.elapsed == .milliseconds(1_500))
    }

    @Test func workRunsOnItsEventLoopWhenItComesDueInOrder() async throws {
        let clock = ManualClock()
        let ran = Mutex<[String]>([])
        let eventLoop = self.eventLoop
        for (name, delay) in [("b", 20), ("a", 10), ("c", 30), ("b2", 20)] {
            _ = clock.schedule(after: .seconds(delay), on: eventLoop) {
                #expect(eventLoop.inEventLoop)
                ran.withLock { $0.append("\(name)@\(clock.elapsed / .seconds(1))") }
            }
        }
        try await clock.advance(by: .seconds(9))
        #expect(ran.withLock { $0 }.isEmpty)
        try await clock.advance(by: .seconds(11))
        #expect(ran.withLock { $0 } == ["a@10.0", "b@20.0", "b2@20.0"], "each ran at its due time, and was waited for")
        #expect(clock.pending == 1)
        try await clock.advance(by: .seconds(100))
        #expect(ran.withLock { $0 }.last == "c@30.0")
        #expect(clock.elapsed == .seconds(120))
    }

    @Test func cancelledWorkNeverRuns() async throws {
        let clock = ManualClock()
        let ran = Atomic<Int>(0)
        let work = clock.schedule(after: .seconds(1), on: self.eventLoop) { ran.add(1, ordering: .relaxed) }
        work.cancel()
        #expect(clock.pending == 0)
        try await clock.advance(by: .seconds(2))
        #expect(ran.load(ordering: .relaxed) == 0)
    }

    @Test func workScheduledByWorkRunsWithinTheSameAdvance() async throws {
        let clock = ManualClock()
        let ticks = Mutex<[Duration]>([])
        let eventLoop = self.eventLoop
        @Sendable func tick() {
            ticks.withLock { $0.append(clock.elapsed) }
            _ = clock.schedule(after: .seconds(1), on: eventLoop, tick)
        }
        _ = clock.schedule(after: .seconds(1), on: eventLoop, tick)
        try await clock.advance(by: .milliseconds(3_500))
        #expect(ticks.withLock { $0 } == [.seconds(1), .seconds(2), .seconds(3)])
        #expect(clock.pending == 1)
    }

    @Test func sleepersWakeWhenTheirTimeComes() async throws {
        let clock = ManualClock()
        let woke = Atomic<Bool>(false)
        let sleeper = Task {
            try await clock.sleep(for: .seconds(5))
            woke.store(true, ordering: .relaxed)
        }
        // The sleeper has to be waiting before time moves past it.
        while clock.pending == 0 { await Task.yield() }
        try await clock.advance(by: .seconds(4))
        let early = woke.load(ordering: .relaxed)
        #expect(!early)
        try await clock.advance(by: .seconds(1))
        try await sleeper.value
        let late = woke.load(ordering: .relaxed)
        #expect(late)
    }

    @Test func aCancelledSleepThrowsAndLeavesNothing() async throws {
        let clock = ManualClock()
        let sleeper = Task { try await clock.sleep(for: .seconds(5)) }
        while clock.pending == 0 { await Task.yield() }
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.pending == 0)
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await clock.sleep(for: .seconds(5))
        }
        await #expect(throws: CancellationError.self) { try await early.value }
        #expect(clock.pending == 0)
    }

    @Test func aRegistrationExpiresAfterItsTTLOnTheClock() async throws {
        let clock = ManualClock()
        let relay = Relay<RecordingConnection>(settings: .init(registrationTTL: .seconds(600)), clock: clock)
        let id = relay.register(userID: 1).id
        try await clock.advance(by: .seconds(600) - .milliseconds(1))
        #expect(relay.expireIdleRegistrations() == 0)
        #expect(relay.registration(id) != nil)
        try await clock.advance(by: .milliseconds(1))
        #expect(relay.expireIdleRegistrations() == 1)
        #expect(relay.registration(id) == nil)
    }

    @Test func historyEntriesLeaveAfterTheTTLOnTheClock() async throws {
        let clock = ManualClock()
        let history = TopicHistory<String>(settings: HistorySettings(size: 10, ttl: .seconds(60)), clock: clock)
        let first = history.append(topic: "cats", userID: nil, payload: "m1", bytes: 2) { $0 }
        history.append(topic: "cats", userID: nil, payload: "m2", bytes: 2) { _ in }
        let before = StreamPosition(epoch: first.epoch, offset: 0)
        #expect(history.replay(topic: "cats", since: before, forUser: 1).entries.count == 2)
        try await clock.advance(by: .seconds(60))
        let replay = history.replay(topic: "cats", since: before, forUser: 1)
        #expect(!replay.recovered && replay.entries.isEmpty, "published `ttl` ago: gone")
    }
}
