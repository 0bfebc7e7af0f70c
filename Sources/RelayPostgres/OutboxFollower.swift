import Logging
import PostgresNIO

/// Follows the outbox from one node on a connection of its own: `LISTEN` wakes it at once, and it
/// also reads every `pollInterval`, so a lost notification only delays a message. Each wake-up
/// reads the rows after the last one handed over, in batches, in id order. When the connection
/// breaks it reconnects with backoff and carries on from the last row: nothing is skipped.
struct OutboxFollower: Sendable {
    let url: PostgresURL
    let pollInterval: Duration
    /// A read that takes longer closes the connection (a silent peer), and the follower reconnects.
    var readTimeout: Duration = .seconds(10)
    let logger: Logger
    static let batchSize = 1000

    /// Runs until cancelled, handing over every row after `start` in id order.
    func run(after start: Int64, deliver: @escaping @Sendable ([OutboxEntry]) async -> Void) async {
        var last = start
        var backoff = Duration.milliseconds(100)
        var connectionID = 0
        while !Task.isCancelled {
            do {
                connectionID += 1
                let connection = try await PostgresConnection.connect(
                    configuration: self.url.connectionConfiguration, id: connectionID, logger: self.logger
                )
                defer { Task { try? await connection.close() } }
                backoff = .milliseconds(100)
                try await connection.listen(on: ClusterSchema.channel) { notifications in
                    // Catch up first: rows may have come while no one listened.
                    try await self.drain(from: &last, on: connection, deliver: deliver)
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        let (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
                        group.addTask {
                            // However the notifications end, the loop below must end too.
                            defer { wake.finish() }
                            for try await _ in notifications { wake.yield() }
                        }
                        group.addTask {
                            defer { wake.finish() }
                            while !Task.isCancelled {
                                try await Task.sleep(for: self.pollInterval)
                                wake.yield()
                            }
                        }
                        for await _ in wakeups {
                            try await self.drain(from: &last, on: connection, deliver: deliver)
                        }
                        group.cancelAll()
                        try Task.checkCancellation()
                        throw ClusterUnavailable(description: "outbox notifications ended")
                    }
                }
            } catch {
                if Task.isCancelled { return }
                self.logger.warning("outbox follower: \(String(reflecting: error)); reconnecting in \(backoff)")
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(2))
            }
        }
    }

    /// Reads and hands over everything after `last`, moving `last` on after each batch handed
    /// over (so a connection lost midway never hands a batch over twice).
    private func drain(
        from last: inout Int64, on connection: PostgresConnection, deliver: @Sendable ([OutboxEntry]) async -> Void
    ) async throws {
        while true {
            let after = last
            let watchdog = Task {
                try await Task.sleep(for: self.readTimeout)
                self.logger.warning("outbox follower: no answer within \(self.readTimeout); reconnecting")
                try? await connection.close()
            }
            defer { watchdog.cancel() }
            let batch = try await Self.read(after: after, limit: Self.batchSize, on: connection, logger: self.logger)
            guard let newest = batch.last else { return }
            await deliver(batch)
            last = newest.id
            if batch.count < Self.batchSize { return }
        }
    }

    static func read(after id: Int64, limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [OutboxEntry] {
        let rows = try await connection.query(
            "SELECT id, kind, topic, topic_offset, user_id, payload FROM relay_outbox WHERE id > \(id) ORDER BY id LIMIT \(Int64(limit))",
            logger: logger
        )
        var entries: [OutboxEntry] = []
        for try await (id, kind, topic, offset, userID, payload) in rows.decode((Int64, Int16, String, Int64, Int64?, String).self) {
            guard let kind = OutboxEntry.Kind(rawValue: kind) else { continue }
            entries.append(OutboxEntry(id: id, kind: kind, topic: topic, topicOffset: offset, userID: userID.map(Int.init), payload: payload))
        }
        return entries
    }
}
