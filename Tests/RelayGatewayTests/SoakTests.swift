import Foundation
import Testing

/// Bounded soak: connect/disconnect churn while publishing. Afterwards registrations and
/// connections are back to baseline and the steady subscriber missed nothing.
@Suite struct SoakTests {
    /// VmRSS of this process, in bytes.
    static func residentBytes() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    @Test func churnWhilePublishingLeavesNoLeakAndLosesNothing() async throws {
        try await RunningGateway.with(yaml: RunningGateway.seedYAML()) { gateway in
            let residentBefore = Self.residentBytes()
            let steady = try await TestSubscriber.connect(try await gateway.register(userID: 0))
            let deadline = ContinuousClock.now + .seconds(6)
            let published = try await withThrowingTaskGroup(of: Int.self) { group in
                group.addTask {
                    var count = 0
                    while ContinuousClock.now < deadline {
                        _ = try await gateway.publish(topic: "cats", message: "m\(count)")
                        count += 1
                    }
                    return count
                }
                for worker in 1...4 {
                    group.addTask {
                        var cycles = 0
                        while ContinuousClock.now < deadline {
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
                        }
                        return 0
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(published > 50)
            let received = try await steady.messages(published, within: .seconds(10))
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
