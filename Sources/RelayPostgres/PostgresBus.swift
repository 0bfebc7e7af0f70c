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
}
