import Synchronization

/// A listener's `max_connections`: WebSockets take a slot when accepted and give it back when
/// they close; with none left, the handshake is answered 503.
public final class ConnectionSlots: Sendable {
    public let limit: Int
    private let taken = Atomic<Int>(0)

    public init(limit: Int) {
        self.limit = limit
    }

    func tryAcquire() -> Bool {
        var current = self.taken.load(ordering: .relaxed)
        while current < self.limit {
            let (exchanged, original) = self.taken.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func release() {
        self.taken.subtract(1, ordering: .acquiringAndReleasing)
    }
}
