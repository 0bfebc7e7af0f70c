import RelayCore

/// The single-node bus: a publish goes straight to this node's fan-out.
struct LocalBus: MessageBus {
    let publisher: Publisher

    func publish(topic: String, userID: Int?, message: String) async throws -> PublishReceipt {
        let (recipients, position) = self.publisher.publish(topic: topic, userID: userID, message: message)
        return PublishReceipt(recipients: recipients, position: position)
    }
}
