import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Cluster mode with real parts: several `relay-gateway serve` processes against a real
/// PostgreSQL (see ``TestDatabase``), real HTTP and real WebSocket clients.
@Suite(.serialized, .heavy) struct ClusterTests {
    @Test func registerOnOneNodeConnectToAnotherPublishOnAThird() async throws {
        let database = try await TestDatabase.create("crossnode")
        let a = try await ClusterNode.start("a", database: database.url)
        let b = try await ClusterNode.start("b", database: database.url)
        let c = try await ClusterNode.start("c", database: database.url)
        defer { for node in [a, b, c] { node.process.signal(SIGKILL) } }
        try await withTimeout(.seconds(60)) {
            let id = try await a.register(userID: 1)
            let subscriber = try await TestSubscriber.connect(b.subscribeURL(id))
            // The publish counts subscribers over the whole cluster once b has recorded the connection.
            try await eventually("the connection on b is counted", within: .seconds(5)) {
                try await c.publish(topic: "cats", message: "probe").json?["recipients"] as? Int == 1
            }
            let answer = try await c.publish(topic: "cats", message: "hello from c")
            #expect(answer.status == 200)
            #expect(answer.json?["recipients"] as? Int == 1)
            try await eventually("hello from c on b") { subscriber.received.contains("hello from c") }
            // Addressed to someone else: not delivered; to this user: delivered, in order.
            #expect(try await a.publish(topic: "cats", message: "for user 2", userID: 2).status == 200)
            #expect(try await a.publish(topic: "cats", message: "for user 1", userID: 1).status == 200)
            try await eventually("for user 1") { subscriber.received.last == "for user 1" }
            #expect(!subscriber.received.contains("for user 2"))

            // The same client connecting through another node replaces the connection on b.
            let moved = try await TestSubscriber.connect(a.subscribeURL(id))
            let replaced = try await subscriber.closeFrame(within: .seconds(5))
            #expect(replaced?.closeCode == .normalClosure && replaced?.reason == "replaced by a new connection")
            try await eventually("the moved connection receives", within: .seconds(5)) {
                _ = try await c.publish(topic: "cats", message: "after the move")
                return moved.received.contains("after the move")
            }
            #expect(!subscriber.received.contains("after the move"))

            // Topics set through a are what every node knows.
            moved.send(#"{"topics": ["dogs"]}"#)
            try await eventually("dogs reach a", within: .seconds(5)) {
                _ = try await b.publish(topic: "dogs", message: "woof")
                return moved.received.contains("woof")
            }
            try await moved.close()
            try await eventually("a recorded the close", within: .seconds(5)) {
                try await database.sql("SELECT count(*) FROM relay_registrations WHERE node IS NOT NULL") == "0"
            }
            let onC = try await TestSubscriber.connect(c.subscribeURL(id))
            try await eventually("dogs reach c", within: .seconds(5)) {
                _ = try await b.publish(topic: "dogs", message: "woof on c")
                return onC.received.contains("woof on c")
            }
            #expect(try await a.publish(topic: "cats", message: "no longer").json?["recipients"] as? Int == 0)

            // Unregistering on a closes the socket on c and forgets the id everywhere.
            let unregistered = try await HTTP.delete(a.base + "/register/\(id)")
            #expect(unregistered.status == 200)
            let close = try await onC.closeFrame(within: .seconds(5))
            #expect(close?.closeCode == .normalClosure || close?.closeCode == .goingAway)
            #expect(try await HTTP.delete(b.base + "/register/\(id)").status == 404)
            #expect(try await HTTP.upgradeAttempt(b.subscribeURL(id).replacingOccurrences(of: "ws://", with: "http://")).status == 404)
        }
    }

    /// A batch published on one node arrives on another in its order, and an idempotency key
    /// holds across nodes: the outbox refuses the repeat whichever node it comes through.
    @Test func batchesKeepTheirOrderAndIdsHoldAcrossNodes() async throws {
        let database = try await TestDatabase.create("batch")
        let a = try await ClusterNode.start("a", database: database.url)
        let b = try await ClusterNode.start("b", database: database.url)
        defer { for node in [a, b] { node.process.signal(SIGKILL) } }
        try await withTimeout(.seconds(60)) {
            let subscriber = try await TestSubscriber.connect(b.subscribeURL(try await a.register(userID: 1)))
            try await eventually("the connection on b is counted", within: .seconds(5)) {
                try await a.publish(topic: "cats", message: "probe").json?["recipients"] as? Int == 1
            }
            let batch = (0..<50).map { #"{"topic": "cats", "message": "m\#($0)"}"# }.joined(separator: ",")
            let answer = try await HTTP.post(a.base + "/publish", #"{"messages": [\#(batch)]}"#)
            #expect(answer.status == 200, "\(answer.body)")
            let results = (answer.json?["results"] as? [[String: Any]]) ?? []
            let offsets = results.compactMap { $0["offset"] as? Int }
            #expect(offsets.count == 50 && offsets == Array(offsets[0]..<(offsets[0] + 50)))
            #expect(results.allSatisfy { $0["recipients"] as? Int == 1 })
            try await eventually("the batch on b") { subscriber.received.count >= 51 }
            #expect(Array(subscriber.received.suffix(50)) == (0..<50).map { "m\($0)" })

            let keyed = #"{"topic": "cats", "message": "paid", "id": "invoice-9"}"#
            let first = try await HTTP.post(a.base + "/publish", keyed)
            #expect(first.json?["duplicate"] == nil && first.json?["recipients"] as? Int == 1)
            let again = try await HTTP.post(b.base + "/publish", keyed)
            #expect(again.json?["duplicate"] as? Bool == true, "\(again.body)")
            #expect(again.json?["offset"] as? Int == first.json?["offset"] as? Int)
            #expect(try await b.publish(topic: "cats", message: "marker").status == 200)
            try await eventually("the marker on b") { subscriber.received.last == "marker" }
            #expect(subscriber.received.filter { $0 == "paid" }.count == 1)
            try await subscriber.close()
        }
    }

    @Test func unknownIdsAreRefusedOnEveryNode() async throws {
        let database = try await TestDatabase.create("unknown")
        let a = try await ClusterNode.start("a", database: database.url)
        defer { a.process.signal(SIGKILL) }
        let missing = String(repeating: "ab", count: 16)
        #expect(try await HTTP.delete(a.base + "/register/\(missing)").status == 404)
        #expect(try await HTTP.upgradeAttempt("http://127.0.0.1:\(a.port)/ws/\(missing)").status == 404)
        // A registration the store no longer holds (expired by another node) is unknown here too,
        // even though this node made it.
        let id = try await a.register(userID: 1)
        try await database.sql("DELETE FROM relay_registrations WHERE id = '\(id)'")
        #expect(try await HTTP.upgradeAttempt("http://127.0.0.1:\(a.port)/ws/\(id)").status == 404)
    }

    @Test func theClusterBenchSpreadsSubscribersAndCountsEveryDelivery() async throws {
        let database = try await TestDatabase.create("bench")
        let a = try await ClusterNode.start("a", database: database.url)
        let b = try await ClusterNode.start("b", database: database.url)
        defer { for node in [a, b] { node.process.signal(SIGKILL) } }
        let result = try await Program.run(
            Program.gateway,
            [
                "bench", "--url", a.base, "--nodes", b.base, "--scenario", "cluster,cluster-rate", "--json",
                "--subscribers", "20", "--topics", "2", "--publishes", "30", "--rate", "20", "--duration", "1",
            ],
            limit: .seconds(120)
        )
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.count == 2)
        #expect(lines.first?["scenario"] as? String == "cluster" && lines.first?["expected"] as? Int == 300)
        #expect(lines.last?["scenario"] as? String == "cluster-rate" && lines.last?["expected"] as? Int == 200)
        for line in lines {
            #expect(line["received"] as? Int == line["expected"] as? Int, "no loss: \(line)")
        }
        // Half the subscribers were on b.
        #expect(try await database.sql("SELECT count(DISTINCT id) FROM relay_registrations") == "40")
    }

    /// `examples/cluster.yaml` on two nodes behind `examples/nginx-cluster.conf`: clients only
    /// ever talk to nginx, and land on both nodes.
    @Test func theExampleClusterWorksBehindTheExampleNginx() async throws {
        let database = try await TestDatabase.create("nginx")
        let nginx = try Prerequisite.program("nginx", install: "apt-get install nginx-light")
        let balancerPort = try freePort()
        let environment = [
            "RELAY_DATABASE_URL": database.url, "RELAY_PUBLISH_TOKEN": "secret", "RELAY_PORT": "0",
            "RELAY_PUBLIC_URL": "ws://127.0.0.1:\(balancerPort)",
        ]
        let config = Program.packageRoot.appendingPathComponent("examples/cluster.yaml").path
        let a = try await ClusterNode.start("a", config: config, environment: environment.merging(["RELAY_NODE_ID": "a"]) { $1 })
        let b = try await ClusterNode.start("b", config: config, environment: environment.merging(["RELAY_NODE_ID": "b"]) { $1 })
        defer { for node in [a, b] { node.process.signal(SIGKILL) } }
        // The example, with this test's ports, in a folder of its own.
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("relay-nginx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: prefix, withIntermediateDirectories: true)
        let example = try String(contentsOf: Program.packageRoot.appendingPathComponent("examples/nginx-cluster.conf"), encoding: .utf8)
        let nginxConfig = prefix.appendingPathComponent("nginx.conf")
        try example.replacingOccurrences(of: "127.0.0.1:8000", with: "127.0.0.1:\(balancerPort)")
            .replacingOccurrences(of: "127.0.0.1:8001", with: "127.0.0.1:\(a.port)")
            .replacingOccurrences(of: "127.0.0.1:8002", with: "127.0.0.1:\(b.port)")
            .write(to: nginxConfig, atomically: true, encoding: .utf8)
        let balancer = try Running(nginx, ["-c", nginxConfig.path, "-p", prefix.path + "/", "-g", "daemon off;"])
        let base = "http://127.0.0.1:\(balancerPort)"
        var failure: (any Error)?
        do {
            try await Self.driveThroughBalancer(base: base, balancerPort: balancerPort, database: database)
        } catch {
            failure = error
        }
        // nginx's master stops its workers on SIGTERM; wait for it, so none is left behind.
        balancer.signal(SIGTERM)
        _ = try? await balancer.finish(within: .seconds(10))
        if let failure { throw failure }
    }

    private static func driveThroughBalancer(base: String, balancerPort: Int, database: TestDatabase) async throws {
        try await withTimeout(.seconds(60)) {
            try await eventually("nginx is up", within: .seconds(10)) { (try? await HTTP.get(base + "/health"))?.status == 200 }
            var subscribers: [TestSubscriber] = []
            for user in 1...4 {
                let answer = try await HTTP.post(base + "/register", #"{"user_id": \#(user)}"#)
                let url = try #require(answer.json?["url"] as? String)
                #expect(url.hasPrefix("ws://127.0.0.1:\(balancerPort)/ws/"), "register hands out the balancer's address")
                subscribers.append(try await TestSubscriber.connect(url))
            }
            let auth = [("Authorization", "Bearer secret")]
            try await eventually("all four counted", within: .seconds(5)) {
                try await HTTP.post(base + "/publish", #"{"topic": "cats", "message": "probe"}"#, headers: auth).json?["recipients"] as? Int == 4
            }
            let published = try await HTTP.post(base + "/publish", #"{"topic": "cats", "message": "through nginx"}"#, headers: auth)
            #expect(published.status == 200)
            for subscriber in subscribers {
                try await eventually("delivery through nginx") { subscriber.received.contains("through nginx") }
            }
            // Both nodes hold connections: least_conn spreads them.
            let perNode = try await database.sql("SELECT count(DISTINCT node) FROM relay_registrations WHERE node IS NOT NULL")
            #expect(perNode == "2")
            #expect(try await HTTP.post(base + "/publish", #"{"topic": "cats", "message": "x"}"#).status == 401)
        }
    }

    @Test func aNodeRestartedMidStreamCatchesUpWithNoGap() async throws {
        let database = try await TestDatabase.create("noderestart")
        let a = try await ClusterNode.start("a", database: database.url, history: true)
        let b = try await ClusterNode.start("b", database: database.url, history: true)
        defer { for node in [a, b] { node.process.signal(SIGKILL) } }
        let total = 120
        try await withTimeout(.seconds(90)) {
            let id = try await a.register(userID: 1)
            let first = try await TestSubscriber.connect(b.subscribeURL(id, query: "?envelope=1"))
            _ = try await first.message(1)  // the `subscribed` notice
            let publisher = Task {
                for index in 1...total {
                    // As a real publisher would: retry what was refused (503), so every message is sent once acknowledged.
                    try await eventually("publish \(index) acknowledged", within: .seconds(10)) {
                        let answer = try await a.publish(topic: "cats", message: "m\(index)")
                        guard answer.status == 200 || answer.status == 503 else {
                            throw TimedOut(what: "publish \(index): \(answer.status) \(answer.body)")
                        }
                        return answer.status == 200
                    }
                    // Fixed sleep: paces the publisher so that node b's restart falls in the middle of the stream
                    // (the gateways are other processes: no clock of theirs can be moved).
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
            try await eventually("the stream is flowing", within: .seconds(10)) { Envelopes(first.received).messages.count >= 20 }
            try await b.stop()
            let seen = Envelopes(first.received)
            let seenMessages = seen.messages
            let restarted = try await ClusterNode.start("b", database: database.url, history: true)
            defer { restarted.process.signal(SIGKILL) }
            let since = "cats:\(seen.epoch!):\(seen.lastOffset!)"
            let second = try await TestSubscriber.connect(restarted.subscribeURL(id, query: "?envelope=1&since=\(since)"))
            try await publisher.value
            do {
                try await eventually("all \(total) messages", within: .seconds(20)) {
                    seenMessages.count + Envelopes(second.received).messages.count >= total
                }
            } catch {
                let after = Envelopes(second.received)
                throw TimedOut(
                    what: "all \(total) messages: \(seenMessages.count) before the restart (to offset \(seen.lastOffset ?? -1)), "
                        + "\(after.messages.count) after it (first \(after.messages.first ?? "none"), last "
                        + "\(after.messages.last ?? "none")), notices \(after.notices)"
                )
            }
            let all = seenMessages + Envelopes(second.received).messages
            #expect(all == (1...total).map { "m\($0)" }, "no gap, no duplicate, in order")
            let recovered = Envelopes(second.received).notices.first { $0["type"] as? String == "recovered" }
            #expect(recovered?["recovered"] as? Bool == true)
            #expect((recovered?["missed"] as? Int ?? 0) > 0, "messages published while b was down came from the outbox")
            #expect(recovered?["epoch"] as? String == seen.epoch, "the epoch is the cluster's, stable across node restarts")
        }
    }

    @Test func aDatabaseRestartLosesNothingAcknowledged() async throws {
        _ = try TestDatabase.serverURL()
        let server = try await PrivateDatabaseServer.start(port: 25433)
        let database = try await TestDatabase.create("dbrestart", on: server.url)
        let a = try await ClusterNode.start("a", database: database.url)
        let b = try await ClusterNode.start("b", database: database.url)
        defer {
            for node in [a, b] { node.process.signal(SIGKILL) }
        }
        try await withTimeout(.seconds(90)) {
            let id = try await a.register(userID: 1)
            let subscriber = try await TestSubscriber.connect(b.subscribeURL(id))
            let acknowledged = Mutex<[Int]>([])
            let refused = Mutex<[HTTPAnswer]>([])
            let restarted = Atomic<Bool>(false)
            // Publishing goes on through the restart until 100 publishes after it were
            // acknowledged, however long the restart takes on a busy machine.
            let publisher = Task {
                var (index, acknowledgedAfterRestart) = (0, 0)
                while acknowledgedAfterRestart < 100 {
                    index += 1
                    let answer = try await a.publish(topic: "cats", message: "\(index)")
                    if answer.status == 200 {
                        acknowledged.withLock { $0.append(index) }
                        if restarted.load(ordering: .relaxed) { acknowledgedAfterRestart += 1 }
                    } else {
                        refused.withLock { $0.append(answer) }
                    }
                    // Fixed sleep: paces the publisher through the database's restart, which takes
                    // as long as it takes (another process), without flooding the node with refusals.
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
            try await eventually("the stream is flowing", within: .seconds(10)) { subscriber.received.count >= 30 }
            try await server.restart()
            restarted.store(true, ordering: .relaxed)
            try await publisher.value
            let acked = acknowledged.withLock { $0 }
            do {
                try await eventually("every acknowledged publish", within: .seconds(20)) {
                    Set(subscriber.received.compactMap(Int.init)).isSuperset(of: acked)
                }
            } catch {
                let missing = Set(acked).subtracting(subscriber.received.compactMap(Int.init)).sorted()
                throw TimedOut(
                    what:
                        "every acknowledged publish: \(missing.count) of \(acked.count) missing, first \(missing.prefix(10)); "
                        + "\(subscriber.received.count) received"
                )
            }
            let received = subscriber.received.compactMap(Int.init)
            #expect(received == received.sorted(), "in publish order")
            #expect(Set(received).count == received.count, "no duplicates")
            #expect(acked.count >= 130, "30 before the restart and 100 after it, at least")
            print(
                "database restart: \(acked.count) publishes acknowledged, \(refused.withLock { $0.count }) answered 503, all acknowledged delivered")
            for answer in refused.withLock({ $0 }) {
                #expect(answer.status == 503 && answer.error?.hasPrefix("cluster unavailable") == true, "\(answer.status) \(answer.body)")
            }
            // Still connected, still live.
            #expect(try await a.publish(topic: "cats", message: "1000").status == 200)
            try await eventually("live after the restart") { subscriber.received.last == "1000" }
        }
        try await server.stop()
    }

    @Test func publishesAnswer503WhileTheDatabaseIsDownAndTheNodeRecovers() async throws {
        _ = try TestDatabase.serverURL()
        let server = try await PrivateDatabaseServer.start(port: 25434)
        let database = try await TestDatabase.create("dbdown", on: server.url)
        let a = try await ClusterNode.start("a", database: database.url)
        defer { a.process.signal(SIGKILL) }
        try await withTimeout(.seconds(90)) {
            let id = try await a.register(userID: 1)
            let subscriber = try await TestSubscriber.connect(a.subscribeURL(id))
            try await server.stop()
            let started = ContinuousClock.now
            let down = try await a.publish(topic: "cats", message: "while down")
            #expect(down.status == 503)
            #expect(down.error?.hasPrefix("cluster unavailable") == true, "\(down.body)")
            #expect(down.headers.first(name: "Retry-After") == "1")
            #expect(ContinuousClock.now - started < .seconds(3))
            #expect(try await HTTP.post(a.base + "/register", #"{"user_id": 2}"#).status == 503)
            #expect(try await HTTP.get(a.base + "/health").status == 200, "the node itself stays up")
            _ = try await PrivateDatabaseServer.start(port: 25434)
            try await eventually("publishes accepted again", within: .seconds(15)) {
                try await a.publish(topic: "cats", message: "back").status == 200
            }
            try await eventually("the subscriber, connected throughout, gets it") { subscriber.received.contains("back") }
            #expect(!subscriber.received.contains("while down"))
        }
        try await server.stop()
    }
}

/// Reads envelope-mode frames: messages in order, and notices.
struct Envelopes {
    var messages: [String] = []
    var notices: [[String: Any]] = []
    var epoch: String?
    var lastOffset: Int?

    init(_ frames: [String]) {
        for frame in frames {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(frame.utf8))) as? [String: Any] else { continue }
            if let message = object["message"] as? String {
                self.messages.append(message)
                self.epoch = object["epoch"] as? String
                self.lastOffset = object["offset"] as? Int
            } else {
                self.notices.append(object)
                if self.epoch == nil { self.epoch = object["epoch"] as? String }
                if self.lastOffset == nil { self.lastOffset = object["offset"] as? Int }
            }
        }
    }
}

/// A loopback port nothing listens on right now.
func freePort() throws -> Int {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
    }
    guard bound else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: address.sin_port))
}
