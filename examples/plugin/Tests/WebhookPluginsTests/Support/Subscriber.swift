import Logging
import NIOCore
import Synchronization
import WSClient

/// Connects a WebSocket subscriber to `url`, waits until it is live (its `ping` text frame is
/// answered `pong`), runs `whileLive`, and returns what that returned with the next text message
/// the subscriber got. Fails after `limit` rather than hang.
func nextMessage<Value: Sendable>(
    at url: String, within limit: Duration = .seconds(10), whileLive: @escaping @Sendable () async throws -> Value
) async throws -> (Value, String) {
    let outcome = Mutex<(Value, String)?>(nil)
    try await withTimeout(limit) {
        try await WebSocketClient.connect(url: url, logger: quietLogger) { inbound, outbound, _ in
            var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
            try await outbound.write(.text("ping"))
            guard case .text("pong") = try await messages.next() else { return }
            let value = try await whileLive()
            if case .text(let text) = try await messages.next() {
                outcome.withLock { $0 = (value, text) }
            }
            try await outbound.close(.normalClosure, reason: nil)
        }
    }
    guard let result = outcome.withLock({ $0 }) else { throw NoMessage(url: url) }
    return result
}

struct NoMessage: Error {
    let url: String
}

struct TimedOut: Error {
    let limit: Duration
}

/// Runs `work`, or throws ``TimedOut`` when it takes longer than `limit` (and cancels it).
func withTimeout(_ limit: Duration, _ work: @escaping @Sendable () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await work() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TimedOut(limit: limit)
        }
        try await group.next()
        group.cancelAll()
    }
}
