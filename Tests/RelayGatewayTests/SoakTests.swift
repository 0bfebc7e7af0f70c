import Foundation
import Synchronization
import Testing

/// Bounded soak: connect/disconnect churn while publishing. Afterwards registrations and
/// connections are back to baseline and the steady subscriber missed nothing.
@Suite(.heavy) struct SoakTests {
    /// VmRSS of this process, in bytes.
    static func residentBytes() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    /// Shared by the publisher and the churning clients: the run is bounded by work done, not by
    /// a clock, so a busy machine makes it slower, never shorter.
    final class Progress: Sendable {
        let churnCycles = Atomic<Int>(0)
        let publishing = Atomic<Bool>(true)
    }

    @Test func churnWhilePublishingLeavesNoLeakAndLosesNothing() async throws {
        try await RunningGateway.with(yaml: RunningGateway.seedYAML(), limit: .seconds(180)) { gateway in
            let residentBefore = Self.residentBytes()
            let steady = try await TestSubscriber.connect(try await gateway.register(userID: 0))
            let progress = Progress()
            // Publishing goes on until both it and the churn have done their share.
            let (minimumPublishes, minimumCycles) = (200, 40)
            let published = try await withThrowingTaskGroup(of: Int.self) { group in
                group.addTask {
                    var count = 0
                    while count < minimumPublishes || progress.churnCycles.load(ordering: .relaxed) < minimumCycles {
                        _ = try await gateway.publish(topic: "cats", message: "m\(count)")
                        count += 1
                    }
                    progress.publishing.store(false, ordering: .relaxed)
                    return count
                }
                for worker in 1...4 {
                    group.addTask {
                        var cycles = 0
                        while progress.publishing.load(ordering: .relaxed) {
                            let url = try await gateway.register(userID: worker)
                            let client = try await TestSubscriber.connect(url)
                            client.send(#"{"topics": ["cats", "dogs"]}"#)
                            client.send("ping")
                            _ = try await client.message(1)
                            if cycles % 2 == 0 {
                                try await client.close()
                            }
                            let id = url.split(separator: "/").last!
                            #expect(try await HTTP.delete(gateway.url("/register/\(id)")).status == 200)
                            cycles += 1
                            progress.churnCycles.add(1, ordering: .relaxed)
                        }
                        return 0
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(published >= minimumPublishes)
            #expect(progress.churnCycles.load(ordering: .relaxed) >= minimumCycles)
            let received = try await steady.messages(published, within: .seconds(30))
            #expect(received == (0..<published).map { "m\($0)" })
            try await eventually("back to baseline") {
                let counts = gateway.gateway.relay.counts
                return counts.connections == 1 && counts.registrations == 1
            }
            #expect(gateway.gateway.relay.topicSubscriberCounts() == ["cats": 1])
            // Server and clients share this process: a leak of the churned connections would show.
            let growth = Self.residentBytes() - residentBefore
            #expect(growth < 64 * 1024 * 1024, "resident memory grew by \(growth / 1024) KiB")
            try await steady.close()
        }
    }

    /// 20,000 WebSocket connects and closes and 20,000 Server-Sent Events streams opened and
    /// closed (`relay-gateway bench --scenario connect`, 10 rounds of 2,000 of each, each round's
    /// registrations left to expire) against the real binary: its resident memory stays
    /// within 2 MB of where the first round left it. Each subscriber connection used to leave some
    /// 800 bytes behind for good (a reference cycle between its session and its outbound handler).
    @Test(.timeLimit(.minutes(5))) func connectionsThatComeAndGoLeaveNoMemoryBehind() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("relay-soak-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("soak.yaml").path
        try """
        relay: {registration_ttl: 1s}
        listeners:
          - host: 127.0.0.1
            port: 0
            routes:
              - {path: /health, method: GET, handler: health}
              - {path: /register, method: POST, handler: register}
              - {path: "/ws/{client_id}", handler: subscribe}
              - {path: "/events/{client_id}", handler: events}
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let server = try Running(Program.gateway, ["serve", "--config", config])
        defer { server.signal(SIGTERM) }
        let base = "http://127.0.0.1:\(try await server.awaitListening())"
        let pid = server.process.processIdentifier
        func resident() -> Int {
            let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
        }
        var afterFirst = 0
        for round in 1...10 {
            // One after the other, so every round holds the same connections at its peak (RSS
            // keeps its high-water mark: two runs overlapping in one round but not in another
            // would read as growth).
            for transport in [[], ["--events-path", "/events"]] {
                let bench = try await Program.run(
                    Program.gateway, ["bench", "--url", base, "--scenario", "connect", "--subscribers", "2000"] + transport,
                    limit: .seconds(120)
                )
                try #require(bench.status == 0, "round \(round): \(bench.stdout) \(bench.stderr)")
            }
            try await eventually("round \(round)'s connections closed and registrations expired", within: .seconds(30)) {
                let health = try await HTTP.get("\(base)/health").json
                return health?["connections"] as? Int == 0 && health?["registrations"] as? Int == 0
            }
            if round == 1 { afterFirst = resident() }
        }
        let growth = resident() - afterFirst
        #expect(growth <= 2 * 1024 * 1024, "resident memory grew by \(growth / 1024) KiB over 18,000 + 18,000 more connections")
    }
}
