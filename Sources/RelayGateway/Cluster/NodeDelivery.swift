import RelayCore

/// This node's end of a cluster bus: messages go to the local fan-out (and history), and an
/// unregister made on any node closes the connection here.
struct NodeDelivery: BusReceiver {
    let publisher: Publisher
    let relay: Relay<WebSocketSubscriber>

    func deliver(topic: String, userID: Int?, message: String, position: StreamPosition) {
        self.publisher.deliver(topic: topic, userID: userID, message: message, position: position)
    }

    func unregistered(_ id: ClientID) {
        self.relay.unregister(id)
    }
}
