import NIOCore
import NIOWebSocket
import RelayConfig

/// The front of a subscriber's pipeline: every frame the server sends to the client goes through
/// here, already encoded, straight to the socket.
///
/// The channel's write buffer is bounded by its water marks; while the channel is not writable,
/// frames wait in a queue of at most `relay.send_queue` messages and `relay.send_queue_bytes`
/// bytes, and past either the `slow_consumer` policy acts: close with 1008, or drop the oldest
/// waiting frames.
final class SubscriberOutbound: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private enum State {
        case open
        case closing
        case closed
    }

    /// What the frames travel in.
    enum Transport: Equatable {
        case webSocket
        /// A `text/event-stream` answer (the `events` handler), chunked on HTTP/1.1.
        case eventStream(chunked: Bool)
    }

    let transport: Transport

    private let capacity: Int
    private let byteCapacity: Int
    private let policy: SlowConsumerPolicy
    private var context: ChannelHandlerContext?
    private var waiting = CircularBuffer<ByteBuffer>()
    private var waitingBytes = 0
    private var state = State.open
    private var flushBatch: FlushBatch?
    private var needsFlush = false
    private(set) var framesSent = 0
    private(set) var framesDropped = 0
    /// Why the connection ended: the server's reason once it closes, else the client's doing.
    private(set) var closeCause = RelayMetrics.CloseCause.client
    /// Called once, on the event loop, when the slow-consumer policy first acts on this connection.
    var onSlowConsumer: ((SlowConsumerPolicy) -> Void)?
    /// Called once, on the event loop, when the server starts closing the connection: the relay
    /// stops delivering to it at once, not when a client that may never read lets it finish.
    var onClosing: (() -> Void)?
    /// How long a closing handshake may take before the connection is dropped.
    static let closeTimeout = TimeAmount.seconds(2)

    /// See ``FlushBatch``: under load, at most one flush per this window.
    private let flushWindow: TimeAmount

    init(capacity: Int, byteCapacity: Int = .max, policy: SlowConsumerPolicy, flushWindow: TimeAmount = .zero, transport: Transport = .webSocket) {
        self.transport = transport
        self.capacity = max(1, capacity)
        self.byteCapacity = max(1, byteCapacity)
        self.policy = policy
        self.flushWindow = flushWindow
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.flushBatch = FlushBatch.current(on: context.eventLoop)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.state = .closed
        // The callbacks are the session's, and the session holds this handler through its feed:
        // kept, they would make a reference cycle that outlives the connection (some 800 bytes
        // each, never freed). Nothing calls them once the handler is gone.
        self.onClosing = nil
        self.onSlowConsumer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.state = .closed
        self.clearWaiting()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            self.drain(context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    /// Queues one encoded frame for the client.
    func send(_ frame: ByteBuffer) {
        guard self.state == .open, let context else { return }
        if self.waiting.isEmpty && context.channel.isWritable {
            self.framesSent += 1
            context.write(NIOAny(frame), promise: nil)
            self.flushBatch?.frames += 1
            if !self.needsFlush {
                self.needsFlush = true
                self.flushBatch?.add(self, window: self.flushWindow)
            }
            return
        }
        let bytes = frame.readableBytes
        if self.isFull(adding: bytes) {
            let firstTime = self.framesDropped == 0
            switch self.policy {
            case .close:
                self.framesDropped += 1 + self.waiting.count
                self.clearWaiting()
                if firstTime { self.onSlowConsumer?(.close) }
                self.close(code: .policyViolation, reason: "slow consumer", cause: .slowConsumer, afterQueued: false)
                return
            case .dropOldest:
                while self.isFull(adding: bytes), let oldest = self.waiting.popFirst() {
                    self.waitingBytes -= oldest.readableBytes
                    self.framesDropped += 1
                }
                if firstTime { self.onSlowConsumer?(.dropOldest) }
            }
        }
        self.waiting.append(frame)
        self.waitingBytes += bytes
    }

    /// Whether queueing `bytes` more would pass a bound; a frame alone always fits.
    private func isFull(adding bytes: Int) -> Bool {
        !self.waiting.isEmpty && (self.waiting.count >= self.capacity || self.waitingBytes + bytes > self.byteCapacity)
    }

    private func clearWaiting() {
        self.waiting.removeAll()
        self.waitingBytes = 0
    }

    /// Writes out what was written since the last flush (called by the ``FlushBatch``).
    func flush() {
        guard self.needsFlush else { return }
        self.needsFlush = false
        self.context?.flush()
    }

    /// Sends a close frame and closes the connection; with `afterQueued`, frames already waiting
    /// are written first.
    func close(code: WebSocketErrorCode, reason: String, cause: RelayMetrics.CloseCause, afterQueued: Bool) {
        guard self.state == .open, let context else { return }
        self.state = .closing
        self.closeCause = cause
        self.onClosing?()
        if afterQueued {
            while let frame = self.waiting.popFirst() {
                self.framesSent += 1
                context.write(NIOAny(frame), promise: nil)
            }
        }
        self.clearWaiting()
        let channel = context.channel
        if case .eventStream(let chunked) = self.transport {
            // An event stream has no closing handshake: a `close` event says why, the body ends,
            // and so does the connection (a client that never reads is dropped after `closeTimeout`).
            let allocator = channel.allocator
            context.write(
                NIOAny(EventStreamFrame.event(id: nil, name: "close", data: EventStreamFrame.data(reason), chunked: chunked, allocator: allocator)),
                promise: nil)
            context.writeAndFlush(NIOAny(chunked ? EventStreamFrame.lastChunk : ByteBuffer())).whenComplete { _ in channel.close(promise: nil) }
            context.eventLoop.scheduleTask(in: Self.closeTimeout) { channel.close(promise: nil) }
            return
        }
        // RFC 6455 §7.1.1: wait for the client's close frame (see `acknowledgeClose`) before
        // closing TCP, so the client sees our code rather than a reset; a client that never
        // answers is dropped after `closeTimeout`. Write failures (the peer is gone) close at once.
        context.writeAndFlush(NIOAny(ServerFrame.close(code: code, reason: reason, allocator: channel.allocator)))
            .whenFailure { _ in channel.close(promise: nil) }
        context.eventLoop.scheduleTask(in: Self.closeTimeout) { channel.close(promise: nil) }
    }

    /// Answers a client's close frame and ends the connection; when the server started the
    /// closing handshake, the client's close frame completes it.
    func acknowledgeClose(_ frame: ByteBuffer) {
        if self.state == .closing, let context {
            return context.close(promise: nil)
        }
        guard self.state == .open, let context else { return }
        self.state = .closing
        self.onClosing?()
        let channel = context.channel
        context.writeAndFlush(NIOAny(frame)).whenComplete { _ in channel.close(promise: nil) }
        context.eventLoop.scheduleTask(in: Self.closeTimeout) { channel.close(promise: nil) }
    }

    private func drain(context: ChannelHandlerContext) {
        guard self.state == .open, !self.waiting.isEmpty else { return }
        while context.channel.isWritable, let frame = self.waiting.popFirst() {
            self.waitingBytes -= frame.readableBytes
            self.framesSent += 1
            context.write(NIOAny(frame), promise: nil)
        }
        context.flush()
    }
}
