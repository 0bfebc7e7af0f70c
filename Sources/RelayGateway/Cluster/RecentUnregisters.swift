import DequeModule
import RelayCore
import Synchronization

/// The ids a cluster's bus unregistered lately (the newest `capacity`), so a connection that read
/// its registration from the store just before the unregister arrived is still refused.
final class RecentUnregisters: Sendable {
    private struct State {
        var ids: Set<ClientID> = []
        var order = Deque<ClientID>()
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    func add(_ id: ClientID) {
        self.state.withLock { state in
            guard state.ids.insert(id).inserted else { return }
            state.order.append(id)
            if state.order.count > self.capacity {
                state.ids.remove(state.order.removeFirst())
            }
        }
    }

    func contains(_ id: ClientID) -> Bool {
        self.state.withLock { $0.ids.contains(id) }
    }
}
