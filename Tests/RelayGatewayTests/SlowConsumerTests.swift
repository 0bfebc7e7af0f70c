import Foundation
import Testing

/// A subscriber that never reads must not stall the others nor hold more than its bound.
@Suite(.serialized, .heavy) struct SlowConsumerTests {
    /// The queue bound in messages (8 of 64 KiB), or, with `byBytes`, in bytes (256 KiB, while
    /// 1,024 messages would hold all 150 of a flood).
    static func yaml(policy: String, byBytes: Bool = false) -> String {
        let bounds = byBytes ? "send_queue: 1024, send_queue_bytes: 256KiB" : "send_queue: 8"
        return RunningGateway.seedYAML(relay: "relay: {\(bounds), slow_consumer: \(policy), max_message_bytes: 1MiB}")
    }

    /// Publishes `count` messages of 64 KiB while one subscriber reads and one never does; more than
    /// the kernel buffers on loopback (a few MiB), so the server's own bound has to act.
    private func flood(_ gateway: RunningGateway, count: Int) async throws -> (fast: TestSubscriber, slow: RawSocket, slowPath: String) {
        let slowURL = try await gateway.register(userID: 1)
        let slowPath = String(slowURL.dropFirst("ws://127.0.0.1:\(gateway.port)".count))
        let slow = try RawSocket(port: gateway.port, receiveBuffer: 4096)
        #expect(await slow.handshake(path: slowPath).hasPrefix("HTTP/1.1 101"))
        let fast = try await TestSubscriber.connect(try await gateway.register(userID: 2))
        try await eventually("both connected") { gateway.gateway.relay.counts.connections == 2 }

        let payload = String(repeating: "x", count: 64 * 1024)
        for index in 0..<count {
            _ = try await gateway.publish(topic: "cats", message: "\(index) \(payload)")
            // The reading subscriber keeps up (never more than 4 behind, well inside its queue of
            // 8) even on a loaded machine; the other one never reads at all.
            if index % 4 == 3 {
                _ = try await fast.message(index + 1, within: .seconds(20))
            }
        }
        return (fast, slow, slowPath)
    }

    @Test(arguments: [false, true])
    func closePolicyClosesTheSlowReaderAndOthersGetEverything(byBytes: Bool) async throws {
        let capture = LogCapture()
        try await RunningGateway.with(yaml: Self.yaml(policy: "close", byBytes: byBytes), logHandler: capture.handler) { gateway in
            let count = 150
            let (fast, slow, _) = try await self.flood(gateway, count: count)
            let messages = try await fast.messages(count, within: .seconds(20))
            #expect(messages.count == count)
            #expect(messages.last?.hasPrefix("\(count - 1) ") == true)
            // The relay stops delivering to the slow reader as soon as its queue overflows.
            try await eventually("slow reader detached") { gateway.gateway.relay.counts.connections == 1 }
            #expect(capture.all.contains { $0.contains("slow consumer") && $0.contains("policy=close") })

            // The server holds at most its bound for it, then drops the connection (the close frame
            // 1008 "slow consumer" sits behind data the reader never took).
            let drained = await slow.receive(timeout: .seconds(10))
            #expect(drained.count < count * 64 * 1024 / 2, "server buffered \(drained.count) bytes for the slow reader")
            try await fast.close()
        }
    }

    @Test(arguments: [false, true])
    func dropOldestKeepsTheSlowReaderConnectedAndBounded(byBytes: Bool) async throws {
        try await RunningGateway.with(yaml: Self.yaml(policy: "drop_oldest", byBytes: byBytes)) { gateway in
            let count = 150
            let (fast, slow, _) = try await self.flood(gateway, count: count)
            #expect(try await fast.messages(count, within: .seconds(20)).count == count)
            #expect(gateway.gateway.relay.counts.connections == 2)

            // The slow reader gets what fit in the buffers plus the newest messages, not all of them.
            let drained = await slow.receive(timeout: .seconds(3))
            #expect(drained.count > 0)
            #expect(drained.count < count * 64 * 1024 / 2)
            let text = String(decoding: drained, as: UTF8.self)
            #expect(text.contains("\(count - 1) xxx"), "the newest message survives")
            try await fast.close()
        }
    }
}
