import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import RelayConfig
import RelayCore
import RelayHTTP

@testable import RelayGateway

/// A real relay and subscriber hub with no listener: what a gateway shares between its
/// subscribers (the relay, its stores, `ClientDemand`s, metrics, `relay:` settings), for
/// ``EmbeddedSubscriber``s on `EmbeddedChannel`s. Used on the one thread that made it (an
/// `EmbeddedEventLoop` is not thread-safe): a synchronous test.
final class EmbeddedRelay {
    let loop = EmbeddedEventLoop()
    let settings: RelaySettings
    let relay: Relay<SubscriberConnection>
    let hub: SubscriberHub
    let publisher: Publisher
    let metrics = RelayMetrics()

    /// The seed's settings without the keepalive (its sweep would be one more timer on the loop).
    static func settings(_ change: (inout RelaySettings) -> Void = { _ in }) -> RelaySettings {
        var settings = RelaySettings()
        settings.pingInterval = .zero
        change(&settings)
        return settings
    }

    init(settings: RelaySettings = EmbeddedRelay.settings()) {
        self.settings = settings
        self.relay = Relay(settings: Gateway.relaySettings(settings))
        let history =
            settings.history.isEnabled
            ? TopicHistory<PublishedMessage>(
                settings: HistorySettings(size: settings.history.size, ttl: settings.history.ttl, maxBytes: settings.history.maxBytes),
                makeEpoch: { "e1" }
            ) : nil
        let (envelopes, eventStreams) = (ClientDemand(), ClientDemand())
        self.hub = SubscriberHub(
            relay: self.relay, registrations: LocalRegistrations(), history: history, envelopes: envelopes, eventStreams: eventStreams,
            logger: Logger(label: "embedded", factory: { _ in SwiftLogNoOpLogHandler() }), metrics: self.metrics, clock: SystemClock.system,
            settings: settings
        )
        self.publisher = Publisher(relay: self.relay, history: history, envelopes: envelopes, eventStreams: eventStreams)
    }

    /// A registration for `userID`, with the default topics.
    func register(userID: Int = 1) -> ClientID {
        self.relay.register(userID: userID).id
    }

    /// Publishes as the publish handler does; returns how many connected clients it reached.
    @discardableResult
    func publish(topic: String = "cats", userID: Int? = nil, _ message: String) -> Int {
        let recipients = self.publisher.publish(topic: topic, userID: userID, message: message).recipients
        self.loop.run()
        return recipients
    }

    /// Opens a subscriber for `clientID` (a fresh registration when nil) as the engine does once
    /// the answer's head is written: the transport reads the client's raw bytes.
    func subscribe(
        _ clientID: ClientID? = nil, framing: HandoverFraming = .webSocket, options: SubscribeOptions = SubscribeOptions()
    ) throws -> EmbeddedSubscriber {
        let clientID = clientID ?? self.register()
        let channel = EmbeddedChannel(loop: self.loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        let admission = SubscriberAdmission(
            clientID: clientID, options: options, identity: nil,
            handshake: Request(method: .get, target: "/ws/\(clientID)", authority: "127.0.0.1", headers: [:]), listener: "public",
            hub: self.hub
        )
        try admission.install(on: channel, framing: framing)
        let subscriber = EmbeddedSubscriber(channel: channel, loop: self.loop, clientID: clientID)
        self.loop.run()
        return subscriber
    }
}

/// One subscriber connection on an `EmbeddedChannel`: a test writes what its client sends and
/// reads what the server wrote, with no socket.
final class EmbeddedSubscriber {
    let channel: EmbeddedChannel
    let loop: EmbeddedEventLoop
    let clientID: ClientID

    init(channel: EmbeddedChannel, loop: EmbeddedEventLoop, clientID: ClientID) {
        self.channel = channel
        self.loop = loop
        self.clientID = clientID
    }

    /// Client bytes, as they arrive from the network (WebSocket frames must be masked: see
    /// `HostileClientTests.frame`).
    func send(_ bytes: [UInt8]) throws {
        guard self.channel.isActive else { return }
        try self.channel.writeInbound(ByteBuffer(bytes: bytes))
        self.loop.run()
    }

    /// A masked text frame.
    func send(text: String) throws {
        try self.send(HostileClientTests.frame(opcode: 0x1, payload: Array(text.utf8)))
    }

    /// Everything the server wrote and flushed since the last call: the loop runs first, so the
    /// flush batch (``FlushBatch``, at the end of the loop's pass) has had its turn.
    func received() throws -> [UInt8] {
        self.loop.run()
        var bytes: [UInt8] = []
        while let buffer = try self.channel.readOutbound(as: ByteBuffer.self) {
            bytes += buffer.readableBytesView
        }
        return bytes
    }

    /// What the server wrote since the last read, as text (an event stream's body).
    func receivedText() throws -> String {
        String(decoding: try self.received(), as: UTF8.self)
    }

    /// The WebSocket frames the server wrote since the last read.
    func frames() throws -> [WebSocketServerFrame] {
        WebSocketServerFrame.parse(try self.received())
    }

    /// The payloads of the text frames among ``frames()``.
    func texts() throws -> [String] {
        try self.frames().filter { $0.opcode == .text }.map(\.text)
    }

    var isClosed: Bool {
        self.loop.run()
        return !self.channel.isActive
    }

    /// Lets the loop's clock run (timeouts, delayed flushes).
    func advance(by amount: TimeAmount) {
        self.loop.advanceTime(by: amount)
    }

    /// Stops the channel from taking writes, as a full socket buffer does, or lets it take them again.
    func setWritable(_ writable: Bool) {
        self.channel.isWritable = writable
        self.channel.pipeline.fireChannelWritabilityChanged()
        self.loop.run()
    }

    /// The client goes away (TCP closed).
    func disconnect() throws {
        try self.channel.close().wait()
        self.loop.run()
    }
}

/// A frame the server sent (RFC 6455 §5.2: unmasked).
struct WebSocketServerFrame: Equatable {
    let fin: Bool
    let opcode: WebSocketOpcode
    let payload: [UInt8]

    var text: String { String(decoding: self.payload, as: UTF8.self) }
    /// A close frame's status code.
    var closeCode: Int? {
        guard self.opcode == .connectionClose, self.payload.count >= 2 else { return nil }
        return Int(self.payload[0]) << 8 | Int(self.payload[1])
    }
    /// A close frame's reason.
    var closeReason: String { String(decoding: self.payload.dropFirst(2), as: UTF8.self) }

    /// The frames in `bytes`; a partial frame at the end is left out.
    static func parse(_ bytes: [UInt8]) -> [WebSocketServerFrame] {
        var frames: [WebSocketServerFrame] = []
        var index = 0
        while index + 2 <= bytes.count {
            var length = Int(bytes[index + 1] & 0x7F)
            var header = 2
            if length == 126 {
                guard index + 4 <= bytes.count else { break }
                length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
                header = 4
            } else if length == 127 {
                guard index + 10 <= bytes.count else { break }
                length = bytes[(index + 2)..<(index + 10)].reduce(0) { $0 << 8 | Int($1) }
                header = 10
            }
            guard index + header + length <= bytes.count else { break }
            frames.append(
                WebSocketServerFrame(
                    fin: bytes[index] & 0x80 != 0, opcode: WebSocketOpcode(encodedWebSocketOpcode: bytes[index] & 0x0F)!,
                    payload: Array(bytes[(index + header)..<(index + header + length)])
                )
            )
            index += header + length
        }
        return frames
    }
}
