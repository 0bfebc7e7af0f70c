import Logging
import PostgresNIO
import RelayCore
import Synchronization

/// Several gateway nodes sharing one PostgreSQL database: registrations in a table any node can
/// read, and publishes in an outbox every node follows (see ``OutboxWriter`` and ``OutboxFollower``).
///
/// ```swift
/// let cluster = try await PostgresCluster.connect(settings, logger: logger)
/// let gateway = try Gateway(config: config, cluster: cluster, logger: logger)
/// ```
///
/// Each node holds three connections: one for registrations, one for outbox appends, one to
/// `LISTEN` and read the outbox.
public final class PostgresCluster: ClusterBackend {
    public struct Settings: Sendable {
        public var url: PostgresURL
        public var nodeID: String
        public var pollInterval: Duration = .milliseconds(250)
        /// How long outbox rows are kept.
        public var retention: Duration = .seconds(300)
        /// How long one database operation may take before it fails (and a publish answers 503).
        public var timeout: Duration = .seconds(2)
        /// A publish repeating the idempotency key of one in the outbox this recent is a duplicate
        /// (`relay.idempotency_window`); `.zero`: keys are not checked.
        public var idempotencyWindow: Duration = .zero
        /// Registrations no node has held a connection for this long are deleted; `.zero` keeps them.
        public var registrationTTL: Duration = .seconds(600)

        public init(url: PostgresURL, nodeID: String) {
            self.url = url
            self.nodeID = nodeID
        }
    }

    public let settings: Settings
    public let epoch: String
    public var registrations: any RegistrationStore { self.store }
    public var bus: any MessageBus { PostgresBus(writer: self.writer, epoch: self.epoch) }
    let store: PostgresRegistrations
    let writer: OutboxWriter
    private let logger: Logger

    private init(settings: Settings, epoch: String, store: PostgresRegistrations, writer: OutboxWriter, logger: Logger) {
        self.settings = settings
        self.epoch = epoch
        self.store = store
        self.writer = writer
        self.logger = logger
    }

    /// Connects, creates the tables if needed and reads the cluster's epoch. Keeps trying for
    /// `patience` (the database may be starting too), then throws ``ClusterUnavailable``.
    public static func connect(_ settings: Settings, patience: Duration = .seconds(15), logger: Logger) async throws -> PostgresCluster {
        let storeLink = DatabaseLink(url: settings.url, name: "registrations", logger: logger)
        let writer = OutboxWriter(
            link: DatabaseLink(url: settings.url, name: "outbox", logger: logger), timeout: settings.timeout,
            idempotencyWindow: settings.idempotencyWindow, logger: logger
        )
        let store = PostgresRegistrations(link: storeLink, nodeID: settings.nodeID, timeout: settings.timeout, claims: writer, logger: logger)
        let deadline = ContinuousClock.now + patience
        while true {
            do {
                let epoch = try await storeLink.run(timeout: .seconds(30)) { connection in
                    try await ClusterSchema.migrate(on: connection, logger: logger)
                }
                // Connections this node held before a restart are gone.
                try await store.sweep(ttl: .zero, startingUp: true)
                return PostgresCluster(settings: settings, epoch: epoch, store: store, writer: writer, logger: logger)
            } catch {
                guard ContinuousClock.now < deadline else {
                    await storeLink.close()
                    throw error
                }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    public func run(delivering receiver: any BusReceiver, replayingSince: Duration) async throws {
        defer {
            Task { [writer, store] in
                await writer.close()
                await store.link.close()
            }
        }
        guard let (start, newest) = await self.startPosition(replayingSince: replayingSince) else { return }
        let (epoch, nodeID, logger) = (self.epoch, self.settings.nodeID, self.logger)
        let follower = OutboxFollower(url: self.settings.url, pollInterval: self.settings.pollInterval, logger: self.logger)
        let caughtUp = CaughtUpOnce(receiver: receiver)
        if start >= newest { caughtUp.signal() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await follower.run(after: start) { entries in
                    for entry in entries {
                        receiver.receive(entry, epoch: epoch, live: entry.id > newest, thisNode: nodeID, logger: logger)
                    }
                    if let last = entries.last, last.id >= newest { caughtUp.signal() }
                }
            }
            group.addTask { await self.store.writeChanges() }
            group.addTask { await self.keepTidy() }
            await group.waitForAll()
        }
        await self.store.leave()
    }

    /// Where this node starts following: the newest row, or with `replayingSince`, the first row
    /// that recent (so the history holds what was published while the node was down); and the
    /// newest row, up to which rows only fill the history. Nil if cancelled before the database answered.
    private func startPosition(replayingSince: Duration) async -> (start: Int64, newest: Int64)? {
        let logger = self.logger
        let milliseconds = replayingSince.milliseconds
        while !Task.isCancelled {
            do {
                return try await self.store.link.run(timeout: self.settings.timeout) { connection in
                    let rows = try await connection.query(
                        """
                        SELECT
                            COALESCE(
                                (SELECT MIN(id) - 1 FROM relay_outbox
                                 WHERE kind = 0 AND created > now() - \(milliseconds) * interval '1 millisecond'),
                                (SELECT MAX(id) FROM relay_outbox),
                                0),
                            COALESCE((SELECT MAX(id) FROM relay_outbox), 0)
                        """,
                        logger: logger
                    )
                    for try await (start, newest) in rows.decode((Int64, Int64).self) {
                        return (start, newest)
                    }
                    return (0, 0)
                }
            } catch {
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
        return nil
    }

    /// Deletes outbox rows past `retention` and registrations past their ttl, now and then.
    private func keepTidy() async {
        let interval = min(max(self.settings.retention / 10, .seconds(1)), .seconds(10))
        let logger = self.logger
        let retention = self.settings.retention.milliseconds
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            do {
                try await self.store.link.run(timeout: self.settings.timeout) { connection in
                    try await connection.query(
                        "DELETE FROM relay_outbox WHERE created < now() - \(retention) * interval '1 millisecond'", logger: logger
                    )
                }
                try await self.store.sweep(ttl: self.settings.registrationTTL, startingUp: false)
            } catch {
                // The database is away; the next round tries again.
            }
        }
    }
}

extension BusReceiver {
    /// Hands on one outbox row.
    fileprivate func receive(_ entry: OutboxEntry, epoch: String, live: Bool, thisNode: String, logger: Logger) {
        switch entry.kind {
        case .publish:
            let position = StreamPosition(epoch: epoch, offset: UInt64(max(0, entry.topicOffset)))
            self.deliver(topic: entry.topic, userID: entry.userID, message: entry.payload, position: position, live: live)
        case .unregister:
            guard let id = ClientID(entry.payload) else { return logger.warning("outbox: malformed unregister row \(entry.id)") }
            self.unregistered(id)
        case .claim:
            guard let (id, connection) = entry.claim else { return logger.warning("outbox: malformed claim row \(entry.id)") }
            self.claimed(id, connection: connection, byThisNode: entry.topic == thisNode)
        }
    }
}

extension Duration {
    /// Whole milliseconds, for SQL intervals.
    var milliseconds: Int64 {
        self.components.seconds * 1000 + self.components.attoseconds / 1_000_000_000_000_000
    }
}

/// Tells the receiver once that the rows read back for its history are all delivered.
private final class CaughtUpOnce: Sendable {
    private let receiver: any BusReceiver
    private let done = Atomic<Bool>(false)

    init(receiver: any BusReceiver) {
        self.receiver = receiver
    }

    func signal() {
        if !self.done.exchange(true, ordering: .acquiringAndReleasing) { self.receiver.caughtUp() }
    }
}
