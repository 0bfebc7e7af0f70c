import RelayCore

/// The single-node bus: a publish goes straight to this node's fan-out, on the caller's thread.
struct LocalBus: MessageBus {
    let publisher: Publisher
    /// The node's idempotency keys; nil when `relay.idempotency_window` is 0.
    let idempotency: IdempotencyWindow?

    func publishImmediately(topic: String, userID: Int?, message: String) -> PublishReceipt? {
        let (recipients, position) = self.publisher.publish(topic: topic, userID: userID, message: message)
        return PublishReceipt(recipients: recipients, position: position)
    }

    func publish(topic: String, userID: Int?, message: String) async throws -> PublishReceipt {
        self.publishImmediately(topic: topic, userID: userID, message: message)!
    }

    func publishImmediately(_ batch: [PublishRequest]) -> [PublishReceipt]? {
        self.publisher.publish(batch, idempotency: self.idempotency)
    }

    func publish(_ batch: [PublishRequest]) async throws -> [PublishReceipt] {
        self.publishImmediately(batch)!
    }
}
