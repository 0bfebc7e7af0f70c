import RelayCore

/// The cluster's bus: publishes go into the outbox, and every node's follower hands them on in
/// outbox order (unregisters go there too, from ``PostgresRegistrations/remove(_:)``).
struct PostgresBus: MessageBus {
    let writer: OutboxWriter
    let epoch: String

    func publish(topic: String, userID: Int?, message: String) async throws -> PublishReceipt {
        let appended = try await self.writer.append(.publish(topic: topic, userID: userID, message: message))
        return PublishReceipt(
            recipients: appended.recipients, position: StreamPosition(epoch: self.epoch, offset: UInt64(appended.topicOffset))
        )
    }

    /// One outbox append for the whole batch: one transaction, in order, idempotency keys checked
    /// by the outbox under its append lock (so the window holds across nodes).
    func publish(_ batch: [PublishRequest]) async throws -> [PublishReceipt] {
        let entries = batch.map { OutboxEntry.publish(topic: $0.topic, userID: $0.userID, message: $0.message, idempotencyKey: $0.id) }
        return try await self.writer.append(entries).map { appended in
            PublishReceipt(
                recipients: appended.recipients, position: StreamPosition(epoch: self.epoch, offset: UInt64(appended.topicOffset)),
                duplicate: appended.duplicate
            )
        }
    }
}
