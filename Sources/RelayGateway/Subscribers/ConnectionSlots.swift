import Synchronization

/// A listener's `max_connections`: WebSockets take a slot when accepted and give it back when
/// they close; with none left, the handshake is answered 503.
public final class ConnectionSlots: Sendable {
    private let currentLimit: Atomic<Int>
    private let taken = Atomic<Int>(0)

    public init(limit: Int) {
        self.currentLimit = Atomic(limit)
    }

    public var limit: Int { self.currentLimit.load(ordering: .relaxed) }

    /// A reload's new `max_connections`: WebSockets already open stay, new ones wait for a slot under it.
    func setLimit(_ limit: Int) {
        self.currentLimit.store(limit, ordering: .relaxed)
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
