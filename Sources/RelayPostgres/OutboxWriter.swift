import Logging
import PostgresNIO
import Synchronization

/// Appends to the outbox. Appends that arrive while a transaction is running wait and go
/// together in the next one: one transaction, one `NOTIFY`, however many publishes arrived.
///
/// Each batch takes ``ClusterSchema/appendLock``, so outbox ids commit in increasing order across
/// all nodes (a follower reading `id > last` never skips a late commit), and numbers each topic's
/// messages from `relay_topics`.
final class OutboxWriter: Sendable {
    /// What one append got: its outbox row and, for a publish, the connected subscribers counted
    /// for it over the whole cluster.
    struct Appended: Sendable, Equatable {
        var id: Int64
        var topicOffset: Int64
        var recipients: Int
        /// A publish whose idempotency key the outbox already held within the window: not
        /// appended again (`id` 0), `topicOffset` the first copy's.
        var duplicate = false
    }

    /// One caller's entries: they go in one transaction, in their order, never split.
    private struct Waiting {
        let entries: [OutboxEntry]
        let continuation: CheckedContinuation<[Appended], any Error>
        let since = ContinuousClock.now
    }

    private struct State {
        var queue: [Waiting] = []
        var writing = false
        var batches = 0
    }

    /// Appends waiting beyond this are refused at once (the database is not keeping up).
    static let maxWaiting = 10_000
    /// At most this many appends per transaction (one caller's batch may be bigger: it is never split).
    static let maxBatch = 500

    private let link: DatabaseLink
    private let timeout: Duration
    /// How far back a publish's idempotency key is looked for (`relay.idempotency_window`); zero: not at all.
    private let idempotencyWindow: Duration
    private let logger: Logger
    private let state = Mutex(State())

    init(link: DatabaseLink, timeout: Duration, idempotencyWindow: Duration = .zero, logger: Logger) {
        self.link = link
        self.timeout = timeout
        self.idempotencyWindow = idempotencyWindow
        self.logger = logger
    }

    /// Appends `entry`; returns once it is committed. Throws ``ClusterUnavailable`` when it was not.
    func append(_ entry: OutboxEntry) async throws -> Appended {
        try await self.append([entry])[0]
    }

    /// Appends `entries` in their order in one transaction; returns once they are committed, a
    /// result for each. Throws ``ClusterUnavailable`` when none was.
    func append(_ entries: [OutboxEntry]) async throws -> [Appended] {
        guard !entries.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            let (accepted, startWriting) = self.state.withLock { state -> (Bool, Bool) in
                guard state.queue.count < Self.maxWaiting else { return (false, false) }
                state.queue.append(Waiting(entries: entries, continuation: continuation))
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

    /// Batches written so far (each one `relay_append` call).
    var batchesWritten: Int { self.state.withLock { $0.batches } }

    /// Closes the writer's connection (appends after this reconnect).
    func close() async {
        await self.link.close()
    }

    /// Writes batches until nothing waits.
    private func writeAll() async {
        while true {
            let batch: [Waiting] = self.state.withLock { state in
                // Whole callers' batches, up to `maxBatch` entries (at least one caller's).
                var count = 0
                var entries = 0
                while count < state.queue.count, count == 0 || entries + state.queue[count].entries.count <= Self.maxBatch {
                    entries += state.queue[count].entries.count
                    count += 1
                }
                let batch = Array(state.queue.prefix(count))
                state.queue.removeFirst(batch.count)
                if batch.isEmpty {
                    state.writing = false
                } else {
                    state.batches += 1
                }
                return batch
            }
            guard !batch.isEmpty else { return }
            // An append that waited its whole `timeout` behind earlier batches fails now, as if
            // its own write had timed out: the caller answers 503 without waiting any longer.
            let deadline = ContinuousClock.now - self.timeout
            let expired = batch.filter { $0.since < deadline }
            for waiting in expired {
                waiting.continuation.resume(throwing: ClusterUnavailable(description: "database is not keeping up"))
            }
            let current = expired.isEmpty ? batch : batch.filter { $0.since >= deadline }
            guard !current.isEmpty else { continue }
            do {
                var appended = try await self.write(current.flatMap(\.entries))[...]
                for waiting in current {
                    waiting.continuation.resume(returning: Array(appended.prefix(waiting.entries.count)))
                    appended = appended.dropFirst(waiting.entries.count)
                }
            } catch {
                for waiting in current {
                    waiting.continuation.resume(throwing: error)
                }
            }
        }
    }

    /// One call of `relay_append` (see ``ClusterSchema``) for the whole batch: one round trip,
    /// one transaction. Results in the batch's order.
    func write(_ entries: [OutboxEntry]) async throws -> [Appended] {
        let logger = self.logger
        let kinds = entries.map(\.kind.rawValue)
        let topics = entries.map(\.topic)
        let users = entries.map { $0.userID.map(Int64.init) ?? -1 }
        let payloads = entries.map(\.payload)
        let keys = entries.map { $0.idempotencyKey ?? "" }  // "" for none: ids are never empty
        let window = Int64(self.idempotencyWindow / .milliseconds(1))
        return try await self.link.run(timeout: self.timeout) { connection in
            let rows = try await connection.query(
                """
                SELECT row_id, row_offset, row_recipients
                FROM relay_append(
                    \(kinds)::smallint[], \(topics)::text[], \(users)::bigint[], \(payloads)::text[], \(keys)::text[], \(window)::bigint
                )
                """,
                logger: logger
            )
            var appended: [Appended] = []
            appended.reserveCapacity(entries.count)
            for try await (id, offset, recipients) in rows.decode((Int64, Int64, Int64).self) {
                appended.append(Appended(id: id, topicOffset: offset, recipients: Int(max(recipients, 0)), duplicate: recipients < 0))
            }
            guard appended.count == entries.count else {
                throw ClusterUnavailable(description: "database answered \(appended.count) rows for \(entries.count) appends")
            }
            return appended
        }
    }
}
