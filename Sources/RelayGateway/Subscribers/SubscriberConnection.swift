import NIOCore
import RelayCore
import Synchronization

/// One subscriber's live connection, WebSocket or event stream alike, from its start to its end:
/// the one owner of what the connection holds. Its transport (``SubscriberTransport``) frames
/// what it sends and reads what the client sends; everything else is here, once for every
/// transport: its state (open, closing, closed), its send queue, what it is sent
/// (`SubscriberConnection+Feed`), its credentials and commands (`SubscriberConnection+Commands`),
/// its keepalive, and its one end (detached from the relay, counted, its observers told).
///
/// Everything it holds is touched on `eventLoop` only: ``send(_:)`` and ``close(_:)`` hop there.
public final class SubscriberConnection: RelayConnection, @unchecked Sendable {
    public typealias Message = PublishedMessage

    enum State {
        case open
        /// The server or the client began to end it: nothing more is delivered.
        case closing
        case closed
    }

    let eventLoop: any EventLoop
    let clientID: ClientID
    let transport: any SubscriberTransport
    /// The transport's ``SubscriberTransport/carriesPositions``, read once: every delivery asks.
    let transportCarriesPositions: Bool
    /// What this gateway's subscribers share (the relay, limits, metrics).
    let hub: SubscriberHub
    /// What it keeps of the request that opened it, and its listener, for a reload's filters.
    let handshake: SubscriberHandshake
    let listener: String
    /// Who wants to hear of its end (the `log` filter's close line).
    private var endObservers: [@Sendable (SubscriberSummary) -> Void]
    /// Names this connection in a cluster's claims.
    let token = UInt64.random(in: 1 ... .max)
    /// Set when a cluster's bus has handed back this connection's own claim: from then on a later
    /// claim of the same client on another node replaces it.
    let isClaimed = Atomic<Bool>(false)

    /// The transport handler's context while it is in the pipeline: every write goes through it.
    var context: ChannelHandlerContext?
    private(set) var state = State.open

    // The send queue: while the channel is not writable, frames wait here (at most `send_queue`
    // messages and `send_queue_bytes` bytes); past either the slow-consumer policy acts.
    /// Made on first use: most connections never wait (an empty ring costs a 16-slot allocation).
    private var waiting: CircularBuffer<ByteBuffer>?
    private var waitingBytes = 0
    private var flushBatch: FlushBatch?
    private var needsFlush = false
    private(set) var framesSent = 0
    private(set) var framesDropped = 0
    /// Why the connection ended: the server's reason once it closes, else the client's doing.
    private(set) var closeCause = RelayMetrics.CloseCause.client

    private let started = ContinuousClock.now
    private var detached = false
    private var ended = false

    // What it is sent (SubscriberConnection+Feed).
    var envelopeMode = false
    var cursors: [String: Cursor] = [:]
    var announced: [String: StreamPosition] = [:]

    // Keepalive: pinged by the loop's sweep; a transport whose keepalive wants an answer closes
    // a connection silent for `ping_timeout`.
    var lastHeard: ContinuousClock.Instant
    private var sweep: KeepaliveSweep?

    /// Its credentials (a `jwt` filter's identity and token), if it was opened with some.
    var credentials: SubscriberCredentials?

    /// How long a closing handshake may take before the connection is dropped.
    static let closeTimeout = TimeAmount.seconds(2)

    init(admission: SubscriberAdmission, transport: any SubscriberTransport, hub: SubscriberHub, eventLoop: any EventLoop) {
        self.clientID = admission.clientID
        self.handshake = admission.handshake
        self.listener = admission.listener
        self.endObservers = admission.takeEndObservers()
        self.transport = transport
        self.transportCarriesPositions = transport.carriesPositions
        self.hub = hub
        self.eventLoop = eventLoop
        self.lastHeard = hub.clock.now
        self.credentials = admission.identity.map { SubscriberCredentials($0, token: admission.credential) }
    }

    // MARK: The relay's side

    public func send(_ message: PublishedMessage) {
        if self.eventLoop.inEventLoop {
            self.receive(message)
        } else {
            self.eventLoop.execute { self.receive(message) }
        }
    }

    /// One hop per event loop per publish: recipients on the same loop get the message in one task.
    public static func deliver(_ message: PublishedMessage, to recipients: [SubscriberConnection]) {
        var groups: [(eventLoop: any EventLoop, connections: [SubscriberConnection])] = []
        for connection in recipients {
            if let index = groups.firstIndex(where: { $0.eventLoop === connection.eventLoop }) {
                groups[index].connections.append(connection)
            } else {
                groups.append((connection.eventLoop, [connection]))
            }
        }
        for (eventLoop, connections) in groups {
            if eventLoop.inEventLoop {
                for connection in connections { connection.receive(message) }
            } else {
                eventLoop.execute {
                    for connection in connections { connection.receive(message) }
                }
            }
        }
    }

    public func close(_ reason: CloseReason) {
        let end: SubscriberEnd =
            switch reason {
            case .unregistered: .unregistered
            case .replaced: .replaced
            }
        self.eventLoop.execute {
            self.end(end, afterQueued: reason == .unregistered)
        }
    }

    // MARK: The transport's side

    /// The transport's handler joined the pipeline: writes can go out, and the keepalive starts.
    func started(context: ChannelHandlerContext) {
        self.context = context
        // Counted from here: once its handler is in the pipeline, the channel's end ends it (``channelEnded()``).
        self.hub.metrics.connectionsOpened.increment()
        if self.transport.sendsEventStreamData {
            self.hub.eventStreams.clientStarted()
        }
        self.flushBatch = FlushBatch.current(on: context.eventLoop)
        if let interval = self.hub.pingInterval {
            self.sweep = KeepaliveSweep.current(on: context.eventLoop, interval: interval, clock: self.hub.clock)
            self.sweep?.add(self)
        }
        self.startCredentialsClock()
    }

    /// Ends the connection at its credentials' expiry, unless renewed first.
    func startCredentialsClock() {
        self.credentials?.start(on: self.eventLoop, clock: self.hub.clock) { [weak self] in
            self?.end(.tokenExpired, afterQueued: false)
        }
    }

    /// The transport's handler left the pipeline (the channel closed): nothing is written any more.
    func stopped() {
        self.context = nil
        self.state = .closed
        self.leaveSweep()
        self.credentials?.stop()
    }

    /// The client sent something: it is alive.
    func heard() {
        self.lastHeard = self.hub.clock.now
    }

    /// Called by the event loop's ``KeepaliveSweep`` every `ping_interval`.
    func keepaliveTick() {
        if self.transport.keepaliveWantsAnswer, self.hub.clock.now - self.lastHeard > self.hub.pingTimeout {
            self.leaveSweep()
            self.end(.pingTimeout, afterQueued: false)
        } else if let context {
            self.write(self.transport.keepalive(allocator: context.channel.allocator))
        }
    }

    private func leaveSweep() {
        self.sweep?.remove(self)
        self.sweep = nil
    }

    // MARK: Sending

    /// Queues one encoded frame for the client.
    func write(_ frame: ByteBuffer) {
        guard self.state == .open, let context else { return }
        if self.waiting == nil && context.channel.isWritable {
            self.framesSent += 1
            context.write(NIOAny(frame), promise: nil)
            self.flushBatch?.frames += 1
            if !self.needsFlush {
                self.needsFlush = true
                self.flushBatch?.add(self, window: self.hub.flushWindow)
            }
            return
        }
        let bytes = frame.readableBytes
        if self.isFull(adding: bytes) {
            let firstTime = self.framesDropped == 0
            switch self.hub.settings.slowConsumer {
            case .close:
                self.framesDropped += 1 + (self.waiting?.count ?? 0)
                self.clearWaiting()
                if firstTime { self.hub.slowConsumer(self.clientID, policy: .close) }
                return self.end(.slowConsumer, afterQueued: false)
            case .dropOldest:
                while self.isFull(adding: bytes), let oldest = self.waiting?.popFirst() {
                    self.waitingBytes -= oldest.readableBytes
                    self.framesDropped += 1
                }
                if firstTime { self.hub.slowConsumer(self.clientID, policy: .dropOldest) }
            }
        }
        if self.waiting == nil {
            self.waiting = CircularBuffer(initialCapacity: 4)
        }
        self.waiting!.append(frame)
        self.waitingBytes += bytes
    }

    /// Whether queueing `bytes` more would pass a bound; a frame alone always fits.
    private func isFull(adding bytes: Int) -> Bool {
        guard let waiting = self.waiting, !waiting.isEmpty else { return false }
        return waiting.count >= self.hub.settings.sendQueue || self.waitingBytes + bytes > self.hub.settings.sendQueueBytes
    }

    private func clearWaiting() {
        self.waiting = nil
        self.waitingBytes = 0
    }

    /// Writes out what was written since the last flush (called by the ``FlushBatch``).
    func flush() {
        guard self.needsFlush else { return }
        self.needsFlush = false
        self.context?.flush()
    }

    /// The channel can take more: what waited goes out.
    func writable() {
        guard self.state == .open, let context, self.waiting != nil else { return }
        while context.channel.isWritable, let frame = self.waiting?.popFirst() {
            self.waitingBytes -= frame.readableBytes
            self.framesSent += 1
            context.write(NIOAny(frame), promise: nil)
        }
        if self.waiting?.isEmpty == true {
            self.waiting = nil
        }
        context.flush()
    }

    // MARK: The end

    /// The server ends the connection: the transport's farewell goes out (a WebSocket close
    /// frame, an event stream's `close` event and last chunk), after the frames already waiting
    /// when `afterQueued`. The relay stops delivering to it at once, not when a client that may
    /// never read lets it finish; a client that does not finish is dropped after ``closeTimeout``.
    func end(_ end: SubscriberEnd, afterQueued: Bool) {
        guard self.state == .open, let context else { return }
        self.state = .closing
        self.closeCause = end.cause
        self.detach()
        if afterQueued {
            while let frame = self.waiting?.popFirst() {
                self.framesSent += 1
                context.write(NIOAny(frame), promise: nil)
            }
        }
        self.clearWaiting()
        let channel = context.channel
        let farewell = context.writeAndFlush(NIOAny(self.transport.farewell(end, allocator: channel.allocator)))
        if self.transport.awaitsFarewellAnswer {
            // RFC 6455 §7.1.1: wait for the client's close frame (``closeAcknowledged(echo:)``)
            // before closing TCP, so the client sees our code rather than a reset. Write failures
            // (the peer is gone) close at once.
            farewell.whenFailure { _ in channel.close(promise: nil) }
        } else {
            farewell.whenComplete { _ in channel.close(promise: nil) }
        }
        context.eventLoop.scheduleTask(in: Self.closeTimeout) { channel.close(promise: nil) }
    }

    /// The client ended the connection (a WebSocket close frame): `echo` answers it and the
    /// connection closes; when the server began the closing handshake, this completes it.
    func closeAcknowledged(echo: ByteBuffer) {
        guard let context else { return }
        switch self.state {
        case .closing:
            context.close(promise: nil)
        case .open:
            self.state = .closing
            self.detach()
            let channel = context.channel
            context.writeAndFlush(NIOAny(echo)).whenComplete { _ in channel.close(promise: nil) }
            context.eventLoop.scheduleTask(in: Self.closeTimeout) { channel.close(promise: nil) }
        case .closed:
            break
        }
    }

    /// Stops the relay delivering to this connection (once).
    private func detach() {
        guard !self.detached else { return }
        self.detached = true
        if self.hub.relay.detach(self, from: self.clientID) {
            self.hub.registrations.connectionChanged(self.clientID, connection: self.token, connected: false)
        }
    }

    /// The channel is gone (once): detached, counted, and its observers told how it went.
    func channelEnded() {
        guard !self.ended else { return }
        self.ended = true
        self.state = .closed
        self.clearWaiting()
        self.detach()
        self.leaveSweep()
        self.credentials?.stop()
        if self.envelopeMode {
            self.hub.envelopes.clientEnded()
        }
        if self.transport.sendsEventStreamData {
            self.hub.eventStreams.clientEnded()
        }
        self.hub.open.closed(self)
        let summary = SubscriberSummary(
            duration: ContinuousClock.now - self.started, messagesSent: self.framesSent, messagesDropped: self.framesDropped,
            closeCause: self.closeCause
        )
        self.hub.metrics.connectionClosed(summary.closeCause, dropped: summary.messagesDropped)
        let observers = self.endObservers
        self.endObservers = []
        for observer in observers {
            observer(summary)
        }
    }
}

/// How a subscriber connection went, reported when it ends.
public struct SubscriberSummary: Sendable {
    public let duration: Duration
    public let messagesSent: Int
    public let messagesDropped: Int
    let closeCause: RelayMetrics.CloseCause
}
