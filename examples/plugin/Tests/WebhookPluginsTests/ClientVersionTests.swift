import Synchronization
import Testing
import WSClient

@testable import WebhookPlugins

/// `min_client_version`: refuses old apps, and a reload that raises the minimum ends the open
/// subscribers of older apps through the gateway's public re-check seam (`SubscriberRecheck`).
@Suite struct ClientVersionTests {
    static func config(minimum: String) -> String {
        """
        filters:
          current_apps: {type: min_client_version, minimum: "\(minimum)"}
        listeners:
          - name: public
            host: 127.0.0.1
            port: 0
            routes:
              - {path: /register, method: POST, handler: register}
              - {path: "/ws/{client_id}", handler: subscribe, filters: [current_apps]}
        """
    }

    @Test func versionsCompareNumberByNumber() {
        #expect(ClientVersion("1.10")! > ClientVersion("1.9")!)
        #expect(ClientVersion("2")! == ClientVersion("2.0.0")!)
        #expect(ClientVersion("1.x") == nil && ClientVersion("") == nil && ClientVersion("1..2") == nil)
    }

    @Test func aReloadThatRaisesTheMinimumEndsOnlyTheOlderAppsSubscribers() async throws {
        try await withLiveGateway(Self.config(minimum: "1.0")) { gateway in
            let refused = try await gateway.send(.get, "/ws/0123456789abcdef0123456789abcdef?client_version=0.9")
            #expect(refused.status == 426 && refused.body.contains("older than 1.0"), "\(refused)")

            let old = try await OpenSubscriber(url: gateway.register(userID: 1) + "?client_version=1.2")
            let current = try await OpenSubscriber(url: gateway.register(userID: 2) + "?client_version=2.1")
            try await old.live()
            try await current.live()

            let summary = try await gateway.reload(Self.config(minimum: "2.0"))
            #expect(summary.lines.last == "open connections: kept, but 1 subscriber closed (1008): no longer accepted by the filters", "\(summary)")
            let close = try await old.closed()
            #expect(close?.closeCode == .policyViolation, "\(String(describing: close))")
            #expect(close?.reason == "client version 1.2 is older than 2.0: update the app")
            try await current.live()
            try await current.close()
        }
    }
}

/// A WebSocket subscriber kept open until the server or the test closes it.
private final class OpenSubscriber: Sendable {
    /// What the connection's task and the test share.
    private final class Shared: Sendable {
        let writer = Mutex<WebSocketOutboundWriter?>(nil)
        let pongs = AsyncStream<Void>.makeStream()
    }

    private let shared = Shared()
    private let task: Task<WebSocketCloseFrame?, any Error>

    init(url: String) async throws {
        let shared = self.shared
        self.task = Task {
            try await WebSocketClient.connect(url: url, logger: quietLogger) { inbound, writer, _ in
                shared.writer.withLock { $0 = writer }
                for try await message in inbound.messages(maxSize: 1 << 16) {
                    if case .text("pong") = message { shared.pongs.continuation.yield() }
                }
            }
        }
    }

    /// Sends `ping` and waits for the `pong`.
    func live() async throws {
        let shared = self.shared
        try await withTimeout(.seconds(10)) {
            // Waits on the condition, with the timeout as its deadline.
            while shared.writer.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
            try await shared.writer.withLock { $0 }!.write(.text("ping"))
            for await _ in shared.pongs.stream { return }
        }
    }

    /// The server's close frame, once the connection has ended.
    func closed() async throws -> WebSocketCloseFrame? {
        try await self.task.value
    }

    func close() async throws {
        try await self.shared.writer.withLock { $0 }?.close(.normalClosure, reason: nil)
        _ = try await self.task.value
    }
}
