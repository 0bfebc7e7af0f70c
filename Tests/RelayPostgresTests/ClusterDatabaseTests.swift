import Foundation
import Logging
import PostgresNIO
import RelayCore
import Synchronization
import Testing

@testable import RelayPostgres

/// The outbox and registrations against a real PostgreSQL: each test gets a database of its own
/// on the server `RELAY_TEST_DATABASE_URL` names (`scripts/postgres-test-instance.sh start`;
/// `scripts/test` exports it). Without it these tests are skipped (Swift Testing reports them as
/// cancelled), unless `RELAY_REQUIRE_ALL_TESTS=1` (set by `scripts/test`): then they fail.
@Suite struct ClusterDatabaseTests {
    static let logger = Logger(label: "cluster-db-test", factory: { _ in SwiftLogNoOpLogHandler() })

    struct NoServer: Error, CustomStringConvertible {
        let description = "every test must run here (RELAY_REQUIRE_ALL_TESTS=1), but RELAY_TEST_DATABASE_URL is not set"
    }

    /// A fresh database with the cluster's tables; without a server to test against the test skips.
    static func freshDatabase(_ name: String) async throws -> (url: PostgresURL, epoch: String) {
        let environment = ProcessInfo.processInfo.environment
        guard let text = environment["RELAY_TEST_DATABASE_URL"], !text.isEmpty else {
            if environment["RELAY_REQUIRE_ALL_TESTS"] == "1" { throw NoServer() }
            try Test.cancel("needs a PostgreSQL server in RELAY_TEST_DATABASE_URL: run scripts/test, which starts one")
        }
        let server = try PostgresURL(text)
        let database = "relay_\(name)_\(UInt32.random(in: 0...UInt32.max))"
        let admin = DatabaseLink(url: server, name: "admin", logger: logger)
        try await admin.run(timeout: .seconds(30)) { connection in
            try await connection.query("CREATE DATABASE \(unescaped: database)", logger: logger)
        }
        await admin.close()
        let url = server.database(database)
        let link = DatabaseLink(url: url, name: "migrate", logger: logger)
        let epoch = try await link.run(timeout: .seconds(30)) { try await ClusterSchema.migrate(on: $0, logger: logger) }
        await link.close()
        return (url, epoch)
    }

    static func readAll(_ url: PostgresURL) async throws -> [OutboxEntry] {
        let link = DatabaseLink(url: url, name: "read", logger: logger)
        defer { Task { await link.close() } }
        return try await link.run(timeout: .seconds(10)) { connection in
            try await OutboxFollower.read(after: 0, limit: 100_000, on: connection, logger: logger)
        }
    }

    @Test func urlsAreParsed() throws {
        let url = try PostgresURL("postgres://relay:secret@db.internal:6543/relay")
        #expect(url.host == "db.internal" && url.port == 6543 && url.username == "relay" && url.password == "secret" && url.database == "relay")
        #expect(try PostgresURL("postgresql://u@h/d").port == 5432)
        for bad in ["mysql://u@h/d", "postgres://h/d", "postgres://u@h", "nonsense"] {
            #expect(throws: PostgresURL.Invalid.self) { try PostgresURL(bad) }
        }
    }

    @Test func theEpochIsMadeOnceAndKept() async throws {
        let (url, epoch) = try await Self.freshDatabase("epoch")
        #expect(epoch.count == 8)
        let link = DatabaseLink(url: url, name: "again", logger: Self.logger)
        let again = try await link.run(timeout: .seconds(10)) { try await ClusterSchema.migrate(on: $0, logger: Self.logger) }
        await link.close()
        #expect(again == epoch)
    }

    /// Two nodes (two writers, each its own connection) appending at once: every id is unique,
    /// rows read back in id order number each topic 1, 2, 3... with no gap and no repeat.
    @Test func concurrentWritersOnTwoNodesKeepOneOrder() async throws {
        let (url, _) = try await Self.freshDatabase("writers")
        let writers = (0..<2).map {
            OutboxWriter(link: DatabaseLink(url: url, name: "node\($0)", logger: Self.logger), timeout: .seconds(10), logger: Self.logger)
        }
        let perWriter = 150
        let results = try await withThrowingTaskGroup(of: (String, OutboxWriter.Appended).self) { group in
            for (index, writer) in writers.enumerated() {
                for message in 0..<perWriter {
                    group.addTask {
                        let topic = ["cats", "dogs", "birds"][message % 3]
                        return ("n\(index)-\(message)", try await writer.append(.publish(topic: topic, userID: nil, message: "n\(index)-\(message)")))
                    }
                }
            }
            var all: [(String, OutboxWriter.Appended)] = []
            for try await result in group { all.append(result) }
            return all
        }
        #expect(Set(results.map(\.1.id)).count == 2 * perWriter)
        let batches = writers.map(\.batchesWritten)
        #expect(
            batches.allSatisfy { $0 < perWriter / 2 }, "appends arriving together share a batch: \(batches) batches for \(perWriter) appends each")
        let entries = try await Self.readAll(url)
        #expect(entries.count == 2 * perWriter)
        #expect(entries.map(\.id) == entries.map(\.id).sorted())
        for topic in ["cats", "dogs", "birds"] {
            let offsets = entries.filter { $0.topic == topic }.map(\.topicOffset)
            #expect(offsets == Array(1...Int64(offsets.count)), "\(topic) offsets follow id order with no gap")
        }
        for writer in writers { await writer.close() }
        // What each append was told matches what was stored.
        let stored = Dictionary(uniqueKeysWithValues: entries.map { ($0.payload, $0) })
        for (payload, appended) in results {
            #expect(stored[payload]?.id == appended.id && stored[payload]?.topicOffset == appended.topicOffset)
        }
    }

    /// A caller's batch goes in one `relay_append` (one transaction), in its order, never split,
    /// even while other appends arrive with it.
    @Test func aBatchIsOneAppendInOrder() async throws {
        let (url, _) = try await Self.freshDatabase("batch")
        let writer = OutboxWriter(link: DatabaseLink(url: url, name: "writer", logger: Self.logger), timeout: .seconds(10), logger: Self.logger)
        let batch = (0..<50).map { OutboxEntry.publish(topic: ["cats", "dogs"][$0 % 2], userID: nil, message: "b\($0)") }
        let appended = try await writer.append(batch)
        #expect(writer.batchesWritten == 1)
        #expect(appended.map(\.id) == Array(appended[0].id..<(appended[0].id + 50)), "consecutive ids: one transaction, in order")
        #expect(appended.filter { $0.id % 2 == appended[0].id % 2 }.map(\.topicOffset) == Array(1...25))
        // Batches bigger than a transaction's usual share, with single appends racing them: each
        // batch's rows stay together.
        let results = try await withThrowingTaskGroup(of: [OutboxWriter.Appended].self) { group in
            for round in 0..<4 {
                group.addTask {
                    try await writer.append((0..<300).map { OutboxEntry.publish(topic: "birds", userID: nil, message: "r\(round)-\($0)") })
                }
                group.addTask { [try await writer.append(.publish(topic: "birds", userID: nil, message: "single \(round)"))] }
            }
            var all: [[OutboxWriter.Appended]] = []
            for try await result in group { all.append(result) }
            return all
        }
        for result in results where result.count == 300 {
            #expect(result.map(\.id) == Array(result[0].id..<(result[0].id + 300)))
        }
        await writer.close()
    }

    /// Idempotency keys are held by the outbox: a repeat through another node (another writer)
    /// within the window is not appended, and answers the first copy's offset.
    @Test func idempotencyKeysHoldAcrossNodes() async throws {
        let (url, _) = try await Self.freshDatabase("keys")
        let writers = (0..<2).map {
            OutboxWriter(
                link: DatabaseLink(url: url, name: "node\($0)", logger: Self.logger), timeout: .seconds(10), idempotencyWindow: .seconds(2),
                logger: Self.logger)
        }
        let first = try await writers[0].append(.publish(topic: "cats", userID: nil, message: "m", idempotencyKey: "k1"))
        #expect(!first.duplicate && first.topicOffset == 1)
        let repeated = try await writers[1].append([
            .publish(topic: "cats", userID: nil, message: "m", idempotencyKey: "k1"),
            .publish(topic: "dogs", userID: nil, message: "m", idempotencyKey: "k1"),
            .publish(topic: "cats", userID: nil, message: "n", idempotencyKey: "k2"),
            .publish(topic: "cats", userID: nil, message: "n", idempotencyKey: "k2"),
            .publish(topic: "cats", userID: nil, message: "no key"),
        ])
        #expect(repeated.map(\.duplicate) == [true, false, false, true, false])
        #expect(repeated.map(\.topicOffset) == [1, 1, 2, 2, 3])
        #expect(repeated.filter(\.duplicate).allSatisfy { $0.id == 0 && $0.recipients == 0 })
        let stored = try await Self.readAll(url)
        #expect(stored.map(\.payload) == ["m", "m", "n", "no key"], "duplicates are never appended, so no node delivers them")
        // Past the window (as the database's clock counts it) the key is new again: a repeat is
        // refused, and appends nothing, until the first that is not. A writer without a window
        // does not check keys.
        try await waitUntil("k1 leaves the window") {
            try await writers[1].append(.publish(topic: "cats", userID: nil, message: "m", idempotencyKey: "k1")).duplicate == false
        }
        #expect(try await Self.readAll(url).map(\.payload) == ["m", "m", "n", "no key", "m"], "the repeats within the window appended nothing")
        let unchecked = OutboxWriter(link: DatabaseLink(url: url, name: "plain", logger: Self.logger), timeout: .seconds(10), logger: Self.logger)
        #expect(try await unchecked.append(.publish(topic: "cats", userID: nil, message: "m", idempotencyKey: "k1")).duplicate == false)
        for writer in writers + [unchecked] { await writer.close() }
    }

    @Test func publishesCountConnectedSubscribersOnEveryNode() async throws {
        let (url, _) = try await Self.freshDatabase("recipients")
        let link = DatabaseLink(url: url, name: "store", logger: Self.logger)
        let nodeA = PostgresRegistrations(link: link, nodeID: "a", timeout: .seconds(5), logger: Self.logger)
        let nodeB = PostgresRegistrations(link: link, nodeID: "b", timeout: .seconds(5), logger: Self.logger)
        let writer = OutboxWriter(link: DatabaseLink(url: url, name: "writer", logger: Self.logger), timeout: .seconds(5), logger: Self.logger)
        let (one, two, three) = (ClientID.random(), ClientID.random(), ClientID.random())
        try await nodeA.create(SharedRegistration(id: one, userID: 1, topics: ["cats"]))
        try await nodeA.create(SharedRegistration(id: two, userID: 2, topics: ["cats", "dogs"]))
        try await nodeA.create(SharedRegistration(id: three, userID: 2, topics: ["cats"]))
        #expect(try await nodeB.find(two) == SharedRegistration(id: two, userID: 2, topics: ["cats", "dogs"]))
        #expect(try await nodeB.find(ClientID.random()) == nil)
        let writing = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await nodeA.writeChanges() }
                group.addTask { await nodeB.writeChanges() }
            }
        }
        defer { writing.cancel() }
        nodeA.connectionChanged(one, connection: 1, connected: true)
        nodeB.connectionChanged(two, connection: 2, connected: true)
        // `three` is registered but not connected anywhere: not counted.
        try await waitUntil("both connections recorded") {
            try await writer.append(.publish(topic: "cats", userID: nil, message: "x")).recipients == 2
        }
        #expect(try await writer.append(.publish(topic: "cats", userID: 2, message: "x")).recipients == 1)
        #expect(try await writer.append(.publish(topic: "dogs", userID: nil, message: "x")).recipients == 1)
        // A close reported by a node that no longer holds the connection changes nothing.
        nodeA.connectionChanged(two, connection: 3, connected: false)
        nodeB.topicsChanged(two, to: ["birds"])
        try await waitUntil("the topic change") {
            try await writer.append(.publish(topic: "birds", userID: nil, message: "x")).recipients == 1
        }
        #expect(try await writer.append(.publish(topic: "dogs", userID: nil, message: "x")).recipients == 0)
        #expect(try await nodeB.remove(two))
        #expect(try await !nodeB.remove(two))
        #expect(try await writer.append(.publish(topic: "birds", userID: nil, message: "x")).recipients == 0)
        await writer.close()
        await link.close()
    }

    /// The whole backend running: old outbox rows and registrations no node held for the ttl go.
    @Test func oldRowsAndAbandonedRegistrationsAreDeleted() async throws {
        let (url, _) = try await Self.freshDatabase("tidy")
        var settings = PostgresCluster.Settings(url: url, nodeID: "a")
        settings.retention = .seconds(1)
        settings.registrationTTL = .seconds(1)
        let cluster = try await PostgresCluster.connect(settings, logger: Self.logger)
        _ = try await cluster.bus.publish(topic: "cats", userID: nil, message: "old")
        let (kept, abandoned) = (ClientID.random(), ClientID.random())
        try await cluster.registrations.create(SharedRegistration(id: kept, userID: 1, topics: ["cats"]))
        try await cluster.registrations.create(SharedRegistration(id: abandoned, userID: 2, topics: ["cats"]))
        cluster.registrations.connectionChanged(kept, connection: 7, connected: true)
        let running = Task { try await cluster.run(delivering: Ignore(), replayingSince: .zero) }
        defer { running.cancel() }
        try await waitUntil("the old row and the abandoned registration are gone", within: .seconds(15)) {
            let rows = try await Self.readAll(url).filter { $0.kind == .publish }
            let abandonedGone = try await cluster.registrations.find(abandoned) == nil
            return rows.isEmpty && abandonedGone
        }
        #expect(try await cluster.registrations.find(kept) != nil, "a registration connected somewhere stays")
        running.cancel()
        _ = try? await running.value
    }

    struct Ignore: BusReceiver {
        func deliver(topic: String, userID: Int?, message: String, position: StreamPosition, live: Bool) {}
        func unregistered(_ id: ClientID) {}
        func claimed(_ id: ClientID, connection: UInt64, byThisNode: Bool) {}
    }

    @Test func anUnreachableDatabaseFailsFastAndBacksOff() async throws {
        // Nothing listens on port 1 of loopback.
        let url = try PostgresURL("postgres://relay@127.0.0.1:1/relay")
        // The backoff is measured on a clock the test moves: a busy machine changes nothing.
        let clock = ManualClock()
        let link = DatabaseLink(url: url, name: "nowhere", logger: Self.logger, clock: clock)
        let writer = OutboxWriter(link: link, timeout: .seconds(2), logger: Self.logger)
        func refused(_ count: Int) async {
            for _ in 0..<count {
                await #expect(throws: ClusterUnavailable.self) { _ = try await writer.append(.publish(topic: "t", userID: nil, message: "m")) }
            }
        }
        let started = ContinuousClock.now
        await refused(20)
        // Waiting out the 2 s timeout each would take 40 s; refusals take milliseconds (allow for
        // a machine busy with every other test).
        #expect(ContinuousClock.now - started < .seconds(10), "refused at once, not after a timeout")
        #expect(link.connectionAttempts == 1, "within the backoff, appends are refused without trying")
        // The backoff starts at 100 ms and doubles: attempts at 100 ms, then 200 ms after that.
        try await clock.advance(by: .milliseconds(100))
        await refused(5)
        #expect(link.connectionAttempts == 2)
        try await clock.advance(by: .milliseconds(199))
        await refused(5)
        #expect(link.connectionAttempts == 2)
        try await clock.advance(by: .milliseconds(1))
        await refused(5)
        #expect(link.connectionAttempts == 3)
    }

    @Test func theFollowerHandsOverEveryRowInOrderAndFromWhereItStarts() async throws {
        let (url, _) = try await Self.freshDatabase("follower")
        let writer = OutboxWriter(link: DatabaseLink(url: url, name: "writer", logger: Self.logger), timeout: .seconds(5), logger: Self.logger)
        let before = try await writer.append(.publish(topic: "cats", userID: nil, message: "before"))
        let collected = Mutex<[OutboxEntry]>([])
        let follower = OutboxFollower(url: url, pollInterval: .seconds(5), logger: Self.logger)
        let following = Task { await follower.run(after: before.id) { batch in collected.withLock { $0 += batch } } }
        defer { following.cancel() }
        for index in 0..<50 {
            _ = try await writer.append(
                index == 25
                    ? OutboxEntry(kind: .unregister, topic: "", payload: ClientID.random().description)
                    : .publish(topic: "cats", userID: index, message: "m\(index)"))
        }
        // The poll interval is 5 s: getting them sooner means the NOTIFY woke the follower.
        try await waitUntil("50 rows", within: .seconds(4)) { collected.withLock { $0.count } == 50 }
        let entries = collected.withLock { $0 }
        #expect(!entries.contains { $0.payload == "before" })
        #expect(entries.map(\.id) == entries.map(\.id).sorted())
        #expect(entries[25].kind == .unregister && entries[24].userID == 24 && entries[26].payload == "m26")
        await writer.close()
    }
}

func waitUntil(_ what: String, within limit: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("timed out waiting for \(what)")
            return
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}
