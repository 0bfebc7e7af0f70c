import Testing

@testable import RelayCore

@Suite("IdempotencyWindow")
struct IdempotencyWindowTests {
    let key = IdempotencyWindow.Key(topic: "cats", id: "order-1")

    @Test func aKeyIsADuplicateWithinTheWindowAndFreshAfterIt() async throws {
        let clock = ManualClock()
        let window = IdempotencyWindow(window: .seconds(120), maxKeys: 10, clock: clock)
        #expect(window.admit(self.key) == .fresh)
        #expect(window.admit(self.key) == .duplicate(nil), "still being published: no position yet")
        window.record(self.key, at: StreamPosition(epoch: "e", offset: 7))
        try await clock.advance(by: .seconds(119))
        #expect(window.admit(self.key) == .duplicate(StreamPosition(epoch: "e", offset: 7)))
        try await clock.advance(by: .seconds(1))
        #expect(window.admit(self.key) == .fresh, "a key leaves the window after exactly `window`")
        #expect(window.count == 1)
    }

    @Test func theTopicIsPartOfTheKey() {
        let window = IdempotencyWindow(window: .seconds(120), maxKeys: 10)
        #expect(window.admit(self.key) == .fresh)
        #expect(window.admit(IdempotencyWindow.Key(topic: "dogs", id: "order-1")) == .fresh)
        #expect(window.admit(IdempotencyWindow.Key(topic: "cats", id: "order-2")) == .fresh)
        #expect(window.count == 3)
    }

    @Test func pastMaxKeysTheOldestAreForgottenFirst() {
        let window = IdempotencyWindow(window: .seconds(120), maxKeys: 3)
        let keys = (0..<5).map { IdempotencyWindow.Key(topic: "cats", id: "k\($0)") }
        for key in keys {
            #expect(window.admit(key) == .fresh)
        }
        #expect(window.count == 3)
        #expect(window.admit(keys[4]) == .duplicate(nil))
        #expect(window.admit(keys[2]) == .duplicate(nil))
        #expect(window.admit(keys[0]) == .fresh, "the oldest went first")
        #expect(window.count == 3)
    }

    @Test func expiryFreesMemory() async throws {
        let clock = ManualClock()
        let window = IdempotencyWindow(window: .seconds(1), maxKeys: 100_000, clock: clock)
        for index in 0..<10_000 {
            _ = window.admit(IdempotencyWindow.Key(topic: "cats", id: "\(index)"))
        }
        #expect(window.count == 10_000)
        try await clock.advance(by: .seconds(2))
        #expect(window.admit(self.key) == .fresh)
        #expect(window.count == 1)
    }

    @Test func recordingAKeyThatLeftChangesNothing() {
        let window = IdempotencyWindow(window: .seconds(120), maxKeys: 1)
        #expect(window.admit(self.key) == .fresh)
        #expect(window.admit(IdempotencyWindow.Key(topic: "cats", id: "other")) == .fresh)
        window.record(self.key, at: StreamPosition(epoch: "e", offset: 1))
        #expect(window.count == 1)
        #expect(window.admit(self.key) == .fresh)
    }
}
