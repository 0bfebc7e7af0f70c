import Logging
import PostgresNIO
import RelayCore

/// The cluster's tables, created on first start, and the cluster's epoch.
///
/// - `relay_cluster`: one row, the epoch of every topic stream (random, made once).
/// - `relay_topics`: each topic's latest offset, so offsets count up per topic across nodes.
/// - `relay_outbox`: every publish and control message, with a `bigserial` id that orders them all.
/// - `relay_registrations`: every registration; `node` names the node holding its connection.
enum ClusterSchema {
    /// Serializes migrations of nodes starting together.
    static let migrationLock: Int64 = 0x5245_4C41_5930
    /// Orders outbox appends: ids commit in increasing order.
    static let appendLock: Int64 = 0x5245_4C41_5931
    /// The `NOTIFY` channel that wakes followers; notifications carry no payload.
    static let channel = "relay_outbox"

    static let statements: [PostgresQuery] = [
        """
        CREATE TABLE IF NOT EXISTS relay_cluster (
            singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
            epoch TEXT NOT NULL
        )
        """,
        "CREATE TABLE IF NOT EXISTS relay_topics (topic TEXT PRIMARY KEY, last_offset BIGINT NOT NULL)",
        """
        CREATE TABLE IF NOT EXISTS relay_outbox (
            id BIGSERIAL PRIMARY KEY,
            kind SMALLINT NOT NULL,
            topic TEXT NOT NULL,
            topic_offset BIGINT NOT NULL,
            user_id BIGINT,
            payload TEXT NOT NULL,
            created TIMESTAMPTZ NOT NULL DEFAULT now()
        )
        """,
        "CREATE INDEX IF NOT EXISTS relay_outbox_created ON relay_outbox (created)",
        """
        CREATE TABLE IF NOT EXISTS relay_registrations (
            id TEXT PRIMARY KEY,
            user_id BIGINT NOT NULL,
            topics TEXT[] NOT NULL,
            created TIMESTAMPTZ NOT NULL DEFAULT now(),
            last_seen TIMESTAMPTZ NOT NULL DEFAULT now(),
            node TEXT
        )
        """,
        "CREATE INDEX IF NOT EXISTS relay_registrations_topics ON relay_registrations USING GIN (topics)",
    ]

    /// Creates what is missing and returns the cluster's epoch.
    static func migrate(on connection: PostgresConnection, logger: Logger) async throws -> String {
        try await connection.query("SELECT pg_advisory_lock(\(Self.migrationLock))", logger: logger)
        do {
            for statement in Self.statements {
                try await connection.query(statement, logger: logger)
            }
            let fresh = TopicHistory<Never>.randomEpoch()
            try await connection.query("INSERT INTO relay_cluster (epoch) VALUES (\(fresh)) ON CONFLICT DO NOTHING", logger: logger)
            var epoch = fresh
            for try await stored in try await connection.query("SELECT epoch FROM relay_cluster", logger: logger).decode(String.self) {
                epoch = stored
            }
            try await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLock))", logger: logger)
            return epoch
        } catch {
            _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLock))", logger: logger)
            throw error
        }
    }
}
