import RelayCore
import Synchronization

/// This node's end of a cluster bus: messages go to the local fan-out (and history), an
/// unregister made on any node closes the connection here, and so does a newer connection of the
/// same client on another node.
struct NodeDelivery: BusReceiver {
    let publisher: Publisher
    let relay: Relay<SubscriberConnection>
    let recentUnregisters: RecentUnregisters
    /// Opened once the history holds what the cluster published before this node started.
    let backfilled: Gate

    func deliver(topic: String, userID: Int?, message: String, position: StreamPosition, live: Bool) {
        self.publisher.deliver(topic: topic, userID: userID, message: message, position: position, live: live)
    }

    func caughtUp() {
        self.backfilled.open()
    }

    func unregistered(_ id: ClientID) {
        self.recentUnregisters.add(id)
        self.relay.unregister(id)
    }

    func claimed(_ id: ClientID, connection token: UInt64, byThisNode: Bool) {
        guard let connection = self.relay.registration(id)?.connection else { return }
        if byThisNode {
            if connection.token == token {
                connection.isClaimed.store(true, ordering: .relaxed)
            }
        } else if connection.isClaimed.load(ordering: .relaxed) {
            // Its own claim came before this one: the client has moved to another node.
            connection.close(.replaced)
        }
    }
}
