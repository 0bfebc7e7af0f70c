import Logging
import PostgresNIO
import Synchronization

/// Appends to the outbox. Appends that arrive while a transaction is running wait and go
/// together in the next one: one transaction, one `NOTIFY`, however many publishes arrived.
///
/// Each transaction takes ``ClusterSchema/appendLock``, so outbox ids commit in increasing order
/// across all nodes (a follower reading `id > last` never skips a late commit), and numbers each
/// topic's messages from `relay_topics`.
final class OutboxWriter: Sendable {
    /// What one append got: its outbox row and, for a publish, the connected subscribers counted
    /// for it over the whole cluster.
    struct Appended: Sendable, Equatable {
        var id: Int64
        var topicOffset: Int64
        var recipients: Int
    }

    private struct Waiting {
        let entry: OutboxEntry
        let continuation: CheckedContinuation<Appended, any Error>
    }

    private struct State {
        var queue: [Waiting] = []
        var writing = false
    }

    /// Appends waiting beyond this are refused at once (the database is not keeping up).
    static let maxWaiting = 10_000
    /// At most this many appends per transaction.
    static let maxBatch = 500

    private let link: DatabaseLink
    private let timeout: Duration
    private let logger: Logger
    private let state = Mutex(State())

    init(link: DatabaseLink, timeout: Duration, logger: Logger) {
        self.link = link
        self.timeout = timeout
        self.logger = logger
    }

    /// Appends `entry`; returns once it is committed. Throws ``ClusterUnavailable`` when it was not.
    func append(_ entry: OutboxEntry) async throws -> Appended {
        try await withCheckedThrowingContinuation { continuation in
            let (accepted, startWriting) = self.state.withLock { state -> (Bool, Bool) in
                guard state.queue.count < Self.maxWaiting else { return (false, false) }
                state.queue.append(Waiting(entry: entry, continuation: continuation))
                defer { state.writing = true }
                return (true, !state.writing)
            }
            guard accepted else {
                return continuation.resume(throwing: ClusterUnavailable(description: "database is not keeping up"))
            }
            if startWriting {
                Task { await self.writeAll() }
            }
        }
    }

    /// Closes the writer's connection (appends after this reconnect).
    func close() async {
        await self.link.close()
    }

    /// Writes batches until nothing waits.
    private func writeAll() async {
        while true {
            let batch: [Waiting] = self.state.withLock { state in
                let batch = Array(state.queue.prefix(Self.maxBatch))
                state.queue.removeFirst(batch.count)
                if batch.isEmpty {
                    state.writing = false
                }
                return batch
            }
            guard !batch.isEmpty else { return }
            do {
                let appended = try await self.write(batch.map(\.entry))
                for (waiting, result) in zip(batch, appended) {
                    waiting.continuation.resume(returning: result)
                }
            } catch {
                for waiting in batch {
                    waiting.continuation.resume(throwing: error)
                }
            }
        }
    }

    /// One transaction for the whole batch; results in the batch's order.
    func write(_ entries: [OutboxEntry]) async throws -> [Appended] {
        let logger = self.logger
        return try await self.link.run(timeout: self.timeout) { connection in
            try await connection.query("BEGIN", logger: logger)
            do {
                let result = try await Self.insert(entries, on: connection, logger: logger)
                try await connection.query("COMMIT", logger: logger)
                return result
            } catch {
                if !connection.isClosed {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                }
                throw error
            }
        }
    }

    private static func insert(_ entries: [OutboxEntry], on connection: PostgresConnection, logger: Logger) async throws -> [Appended] {
        try await connection.query("SELECT pg_advisory_xact_lock(\(ClusterSchema.appendLock))", logger: logger)
        // Number each topic's publishes: reserve a block of offsets per topic.
        var perTopic: [String: Int64] = [:]
        for entry in entries where entry.kind == .publish {
            perTopic[entry.topic, default: 0] += 1
        }
        var nextOffset: [String: Int64] = [:]
        if !perTopic.isEmpty {
            let topics = Array(perTopic.keys)
            let counts = topics.map { perTopic[$0]! }
            let rows = try await connection.query(
                """
                INSERT INTO relay_topics (topic, last_offset) SELECT * FROM unnest(\(topics)::text[], \(counts)::bigint[])
                ON CONFLICT (topic) DO UPDATE SET last_offset = relay_topics.last_offset + EXCLUDED.last_offset
                RETURNING topic, last_offset
                """,
                logger: logger
            )
            for try await (topic, last) in rows.decode((String, Int64).self) {
                nextOffset[topic] = last - perTopic[topic]! + 1
            }
        }
        var kinds: [Int16] = []
        var topics: [String] = []
        var offsets: [Int64] = []
        var users: [Int64] = []
        var payloads: [String] = []
        for entry in entries {
            kinds.append(entry.kind.rawValue)
            topics.append(entry.topic)
            if entry.kind == .publish {
                offsets.append(nextOffset[entry.topic]!)
                nextOffset[entry.topic]! += 1
            } else {
                offsets.append(0)
            }
            users.append(entry.userID.map(Int64.init) ?? -1)
            payloads.append(entry.payload)
        }
        let rows = try await connection.query(
            """
            INSERT INTO relay_outbox (kind, topic, topic_offset, user_id, payload)
            SELECT k, t, o, NULLIF(u, -1), p
            FROM unnest(\(kinds)::smallint[], \(topics)::text[], \(offsets)::bigint[], \(users)::bigint[], \(payloads)::text[])
                WITH ORDINALITY AS m(k, t, o, u, p, n)
            ORDER BY n
            RETURNING id
            """,
            logger: logger
        )
        var ids: [Int64] = []
        for try await id in rows.decode(Int64.self) {
            ids.append(id)
        }
        // Rows are inserted, and their ids drawn, in the batch's order.
        ids.sort()
        var recipients = Array(repeating: 0, count: entries.count)
        if !perTopic.isEmpty {
            let counted = try await connection.query(
                """
                SELECT (SELECT count(*) FROM relay_registrations r
                        WHERE r.node IS NOT NULL AND r.topics @> ARRAY[m.t] AND (m.u < 0 OR r.user_id = m.u))
                FROM unnest(\(topics)::text[], \(users)::bigint[], \(kinds)::smallint[]) WITH ORDINALITY AS m(t, u, k, n)
                ORDER BY n
                """,
                logger: logger
            )
            var index = 0
            for try await count in counted.decode(Int64.self) {
                if entries[index].kind == .publish {
                    recipients[index] = Int(count)
                }
                index += 1
            }
        }
        try await connection.query("SELECT pg_notify(\(ClusterSchema.channel), '')", logger: logger)
        return entries.indices.map { Appended(id: ids[$0], topicOffset: offsets[$0], recipients: recipients[$0]) }
    }
}
