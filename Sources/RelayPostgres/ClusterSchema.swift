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
        // A publish's idempotency key (its `id`), looked up per topic within the window.
        "ALTER TABLE relay_outbox ADD COLUMN IF NOT EXISTS idempotency_key TEXT",
        "CREATE INDEX IF NOT EXISTS relay_outbox_keys ON relay_outbox (topic, idempotency_key) WHERE idempotency_key IS NOT NULL",
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
        // One call appends a batch: under the append lock, each publish takes its topic's next
        // offset, every row its id, and each publish is told the connected subscribers it has on
        // every node; one NOTIFY wakes the followers. One round trip, one implicit transaction.
        // A publish whose idempotency key its topic already holds within `p_window_ms` (earlier
        // in this batch too; "" is no key) is not appended: it answers the first copy's offset, row id 0 and
        // recipients -1. The lock makes that check and the append one step for every node.
        """
        CREATE OR REPLACE FUNCTION relay_append(
            p_kinds SMALLINT[], p_topics TEXT[], p_users BIGINT[], p_payloads TEXT[], p_keys TEXT[], p_window_ms BIGINT
        )
        RETURNS TABLE (row_id BIGINT, row_offset BIGINT, row_recipients BIGINT)
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock(\(unescaped: String(Self.appendLock)));
            FOR i IN 1 .. coalesce(array_length(p_kinds, 1), 0) LOOP
                row_offset := 0;
                row_recipients := 0;
                IF p_kinds[i] = 0 AND p_keys[i] <> '' AND p_window_ms > 0 THEN
                    SELECT o.topic_offset INTO row_offset FROM relay_outbox o
                    WHERE o.topic = p_topics[i] AND o.idempotency_key = p_keys[i] AND o.kind = 0
                        AND o.created > now() - p_window_ms * interval '1 millisecond'
                    ORDER BY o.id DESC LIMIT 1;
                    IF FOUND THEN
                        row_id := 0;
                        row_recipients := -1;
                        RETURN NEXT;
                        CONTINUE;
                    END IF;
                    row_offset := 0;
                END IF;
                IF p_kinds[i] = 0 THEN
                    INSERT INTO relay_topics AS t (topic, last_offset) VALUES (p_topics[i], 1)
                    ON CONFLICT (topic) DO UPDATE SET last_offset = t.last_offset + 1
                    RETURNING t.last_offset INTO row_offset;
                    SELECT count(*) INTO row_recipients FROM relay_registrations r
                    WHERE r.node IS NOT NULL AND r.topics @> ARRAY[p_topics[i]] AND (p_users[i] < 0 OR r.user_id = p_users[i]);
                END IF;
                INSERT INTO relay_outbox (kind, topic, topic_offset, user_id, payload, idempotency_key)
                VALUES (p_kinds[i], p_topics[i], row_offset, NULLIF(p_users[i], -1), p_payloads[i], NULLIF(p_keys[i], ''))
                RETURNING id INTO row_id;
                RETURN NEXT;
            END LOOP;
            PERFORM pg_notify('\(unescaped: Self.channel)', '');
        END
        $$
        """,
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
