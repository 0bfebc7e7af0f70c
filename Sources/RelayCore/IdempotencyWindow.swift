import DequeModule
import Synchronization

/// The idempotency keys of recent publishes on one node: a publish whose topic and `id` were seen
/// within `window` is a duplicate, answered with the first copy's position and not delivered again.
///
/// Bounded: at most `maxKeys` keys are held; past that the oldest are forgotten early (a repeat of
/// a forgotten key is delivered again). Keys leave in the order they came, so expiry is a walk
/// from the front of one queue, linear in the keys that expire. A cluster does not use this: its
/// outbox holds the keys for every node.
public final class IdempotencyWindow: Sendable {
    public struct Key: Hashable, Sendable {
        public var topic: String
        public var id: String

        public init(topic: String, id: String) {
            self.topic = topic
            self.id = id
        }
    }

    /// What ``admit(_:)`` found.
    public enum Admission: Equatable, Sendable {
        /// Not seen within the window: publish it, then ``record(_:at:)`` its position.
        case fresh
        /// Seen: the first copy's position (nil while it is still being published, or without history).
        case duplicate(StreamPosition?)
    }

    private struct State {
        var positions: [Key: StreamPosition?] = [:]
        var arrivals: Deque<(key: Key, at: ContinuousClock.Instant)> = []
    }

    public let window: Duration
    public let maxKeys: Int
    private let clock: any GatewayClock
    private let state = Mutex(State())

    public init(window: Duration, maxKeys: Int, clock: any GatewayClock = SystemClock.system) {
        self.window = window
        self.maxKeys = max(1, maxKeys)
        self.clock = clock
    }

    /// Keys held now (read by tests and `stats`).
    public var count: Int { self.state.withLock { $0.positions.count } }

    /// Checks `key` and, when it is fresh, holds it from now on.
    public func admit(_ key: Key) -> Admission {
        let now = self.clock.now
        return self.state.withLock { state in
            let expired = now - self.window
            while let first = state.arrivals.first, first.at <= expired {
                state.arrivals.removeFirst()
                state.positions[first.key] = nil
            }
            if let position = state.positions[key] {
                return .duplicate(position)
            }
            if state.arrivals.count >= self.maxKeys, let oldest = state.arrivals.popFirst() {
                state.positions[oldest.key] = nil
            }
            state.positions[key] = .some(nil)
            state.arrivals.append((key, now))
            return .fresh
        }
    }

    /// The position a fresh key's publish got, for its duplicates to be answered with.
    public func record(_ key: Key, at position: StreamPosition?) {
        self.state.withLock { state in
            if state.positions[key] != nil {
                state.positions[key] = .some(position)
            }
        }
    }
}
