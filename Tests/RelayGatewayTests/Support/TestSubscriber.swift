import HTTPTypes
import Logging
import NIOCore
import NIOWebSocket
import Synchronization
import WSClient

/// A real WebSocket client (swift-websocket's `WebSocketClient`) driven from a test: send text,
/// wait for the next message, and read the close frame the server sent.
final class TestSubscriber: Sendable {
    private enum Outgoing: Sendable {
        case text(String)
        case binary(ByteBuffer)
        case close
    }

    private let messages = Mutex<[String]>([])
    private let outgoing: AsyncStream<Outgoing>.Continuation
    private let run: Task<WebSocketCloseFrame?, any Error>

    private init(outgoing: AsyncStream<Outgoing>.Continuation, run: Task<WebSocketCloseFrame?, any Error>) {
        self.outgoing = outgoing
        self.run = run
    }

    /// Connects and returns once the server accepted the upgrade; throws if it refused.
    static func connect(_ url: String, headers: HTTPFields = [:]) async throws -> TestSubscriber {
        let (outgoingStream, outgoing) = AsyncStream.makeStream(of: Outgoing.self)
        let (connected, connectedContinuation) = AsyncStream.makeStream(of: Void.self)
        let box = Mutex<TestSubscriber?>(nil)
        let run = Task<WebSocketCloseFrame?, any Error> {
            defer { connectedContinuation.finish() }
            var configuration = WebSocketClientConfiguration()
            configuration.additionalHeaders = headers
            configuration.maxFrameSize = 4 * 1024 * 1024
            return try await WebSocketClient.connect(
                url: url,
                configuration: configuration,
                logger: Logger(label: "test-subscriber", factory: { _ in SwiftLogNoOpLogHandler() })
            ) { inbound, outbound, _ in
                connectedContinuation.yield()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await item in outgoingStream {
                            switch item {
                            case .text(let text): try await outbound.write(.text(text))
                            case .binary(let data): try await outbound.write(.binary(data))
                            case .close:
                                try await outbound.close(.normalClosure, reason: nil)
                                return
                            }
                        }
                    }
                    for try await message in inbound.messages(maxSize: 4 * 1024 * 1024) {
                        if case .text(let text) = message {
                            box.withLock { $0 }?.messages.withLock { $0.append(text) }
                        }
                    }
                    group.cancelAll()
                }
            }
        }
        let subscriber = TestSubscriber(outgoing: outgoing, run: run)
        box.withLock { $0 = subscriber }
        var iterator = connected.makeAsyncIterator()
        if await iterator.next() == nil {
            _ = try await run.value
            throw TimedOut(what: "connection to \(url) ended before the upgrade")
        }
        return subscriber
    }

    func send(_ text: String) {
        self.outgoing.yield(.text(text))
    }

    func sendBinary(_ data: [UInt8]) {
        self.outgoing.yield(.binary(ByteBuffer(bytes: data)))
    }

    /// Messages received so far.
    var received: [String] { self.messages.withLock { $0 } }

    /// Waits for the `count`-th message (1-based) and returns it.
    func message(_ count: Int, within limit: Duration = .seconds(5)) async throws -> String {
        try await eventually("message #\(count); have \(self.received)", within: limit) { self.received.count >= count }
        return self.received[count - 1]
    }

    /// Waits until `count` messages have arrived and returns them all.
    func messages(_ count: Int, within limit: Duration = .seconds(5)) async throws -> [String] {
        _ = try await self.message(count, within: limit)
        return self.received
    }

    /// Waits for the connection to end and returns the server's close frame.
    func closeFrame(within limit: Duration = .seconds(5)) async throws -> WebSocketCloseFrame? {
        let run = self.run
        return try await withTimeout(limit, "close frame") { try await run.value }
    }

    func close() async throws {
        self.outgoing.yield(.close)
        _ = try? await self.closeFrame()
    }
}
