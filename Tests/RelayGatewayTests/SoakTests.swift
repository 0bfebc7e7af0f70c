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
}
