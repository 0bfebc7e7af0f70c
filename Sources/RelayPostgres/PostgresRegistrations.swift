import Logging
import PostgresNIO
import RelayCore

/// Registrations in `relay_registrations`, so any node can accept any registered client.
///
/// Topic and connection changes are written in the background, in call order, and retried until
/// the database takes them: a client never waits on them.
final class PostgresRegistrations: RegistrationStore {
    enum Change: Sendable {
        case topics(ClientID, Set<String>)
        case connection(ClientID, token: UInt64, connected: Bool)
    }

    var isShared: Bool { true }
    let link: DatabaseLink
    let nodeID: String
    /// Where a new connection's claim goes (nil: claims are not made).
    private let claims: OutboxWriter?
    private let timeout: Duration
    private let logger: Logger
    private let changes: AsyncStream<Change>
    private let pending: AsyncStream<Change>.Continuation

    init(link: DatabaseLink, nodeID: String, timeout: Duration, claims: OutboxWriter? = nil, logger: Logger) {
        self.link = link
        self.nodeID = nodeID
        self.claims = claims
        self.timeout = timeout
        self.logger = logger
        // Bounded: while the database is away, the newest changes are the ones worth keeping.
        (self.changes, self.pending) = AsyncStream.makeStream(of: Change.self, bufferingPolicy: .bufferingNewest(100_000))
    }

    func create(_ registration: SharedRegistration) async throws {
        let logger = self.logger
        try await self.link.run(timeout: self.timeout) { connection in
            try await connection.query(
                """
                INSERT INTO relay_registrations (id, user_id, topics)
                VALUES (\(registration.id.description), \(Int64(registration.userID)), \(registration.topics.sorted())::text[])
                """,
                logger: logger
            )
        }
    }

    func find(_ id: ClientID) async throws -> SharedRegistration? {
        let logger = self.logger
        return try await self.link.run(timeout: self.timeout) { connection in
            let rows = try await connection.query(
                "SELECT user_id, topics FROM relay_registrations WHERE id = \(id.description)", logger: logger
            )
            for try await (userID, topics) in rows.decode((Int64, [String]).self) {
                return SharedRegistration(id: id, userID: Int(userID), topics: Set(topics))
            }
            return nil
        }
    }

    func remove(_ id: ClientID) async throws -> Bool {
        let logger = self.logger
        return try await self.link.run(timeout: self.timeout) { connection in
            // One statement: the row goes and the unregister enters the outbox together, or neither.
            let rows = try await connection.query(
                """
                WITH removed AS (DELETE FROM relay_registrations WHERE id = \(id.description) RETURNING id)
                SELECT count(*) FROM removed,
                    LATERAL relay_append(
                        ARRAY[1]::smallint[], ARRAY['']::text[], ARRAY[-1]::bigint[], ARRAY[removed.id], ARRAY['']::text[], 0::bigint
                    ) AS appended
                """,
                logger: logger
            )
            for try await count in rows.decode(Int64.self) {
                return count > 0
            }
            return false
        }
    }

    func topicsChanged(_ id: ClientID, to topics: Set<String>) {
        self.pending.yield(.topics(id, topics))
    }

    func connectionChanged(_ id: ClientID, connection: UInt64, connected: Bool) {
        self.pending.yield(.connection(id, token: connection, connected: connected))
    }

    /// Writes the changes as they come, until cancelled.
    func writeChanges() async {
        var backoff = Duration.milliseconds(100)
        for await change in self.changes {
            while !Task.isCancelled {
                do {
                    try await self.write(change)
                    backoff = .milliseconds(100)
                    break
                } catch {
                    try? await Task.sleep(for: backoff)
                    backoff = min(backoff * 2, .seconds(2))
                }
            }
        }
    }

    private func write(_ change: Change) async throws {
        if case .connection(let id, let token, connected: true) = change, let claims = self.claims {
            _ = try await claims.append(.claim(id, connection: token, node: self.nodeID))
        }
        let logger = self.logger
        let node = self.nodeID
        try await self.link.run(timeout: self.timeout) { connection in
            switch change {
            case .topics(let id, let topics):
                try await connection.query(
                    "UPDATE relay_registrations SET topics = \(topics.sorted())::text[] WHERE id = \(id.description)", logger: logger
                )
            case .connection(let id, _, connected: true):
                try await connection.query(
                    "UPDATE relay_registrations SET node = \(node), last_seen = now() WHERE id = \(id.description)", logger: logger
                )
            case .connection(let id, _, connected: false):
                // Only if no other node has taken the connection over meanwhile.
                try await connection.query(
                    "UPDATE relay_registrations SET node = NULL, last_seen = now() WHERE id = \(id.description) AND node = \(node)",
                    logger: logger
                )
            }
        }
    }

    /// On shutdown: this node's connections are gone (changes still queued are dropped).
    func leave() async {
        try? await self.sweep(ttl: .zero, startingUp: true)
    }

    /// Marks this node's connections gone (after a restart they are) and forgets registrations
    /// no node has held for `ttl`.
    func sweep(ttl: Duration, startingUp: Bool) async throws {
        let logger = self.logger
        let node = self.nodeID
        try await self.link.run(timeout: self.timeout) { connection in
            if startingUp {
                try await connection.query(
                    "UPDATE relay_registrations SET node = NULL, last_seen = now() WHERE node = \(node)", logger: logger
                )
            }
            if ttl > .zero {
                let milliseconds = ttl.milliseconds
                try await connection.query(
                    """
                    DELETE FROM relay_registrations
                    WHERE node IS NULL AND last_seen < now() - \(milliseconds) * interval '1 millisecond'
                    """,
                    logger: logger
                )
            }
        }
    }
}
