import NIOCore
import NIOWebSocket

/// A subscriber over WebSocket (RFC 6455): messages as text frames (envelope frames in envelope
/// mode), pings to keep it alive, a close frame to end it; and the client's frames (cut from its
/// bytes by a ``ClientFrameReader``), read with the RFC's rules: masked, no reserved bits, text messages in at most ``maxFragmentsPerMessage``
/// frames and `max_message_bytes`, control frames answered. A text message is a command for the
/// connection. A client that breaks a rule is failed (RFC 6455 §7.1.7) with the code the RFC
/// gives, and nothing it sends afterwards is decoded or acted on.
final class WebSocketTransport: SubscriberTransport, ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    var connection: SubscriberConnection?
    private let maxMessageBytes: Int
    private var reader: ClientFrameReader
    /// A text message arriving in several frames, until its final frame.
    private var fragments: ByteBuffer?
    private var fragmentsAreText = false
    private var fragmentCount = 0
    private var failed = false
    /// At most this many frames make one message (each costs a frame's work, whatever its size).
    static let maxFragmentsPerMessage = 1024

    init(maxMessageBytes: Int) {
        self.maxMessageBytes = maxMessageBytes
        self.reader = ClientFrameReader(maxPayload: maxMessageBytes)
    }

    // MARK: Framing what the server sends

    var carriesPositions: Bool { false }
    var sendsEventStreamData: Bool { false }
    var takesCommands: Bool { true }
    var keepaliveWantsAnswer: Bool { true }
    var awaitsFarewellAnswer: Bool { true }

    func message(_ message: PublishedMessage, envelope: Bool, id: String?) -> ByteBuffer {
        envelope ? message.envelopeFrame : message.frame
    }

    func replayed(_ stored: PublishedMessage, topic: String, position: StreamPosition, id: String?) -> ByteBuffer {
        EnvelopeFrame.encode(topic: topic, position: position, userID: stored.userID, message: stored.message)
    }

    func notice(_ name: String, _ value: some Encodable, id: String?) -> ByteBuffer {
        EnvelopeFrame.notice(value)
    }

    func say(_ json: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        ServerFrame.text(json, allocator: allocator)
    }

    func keepalive(allocator: ByteBufferAllocator) -> ByteBuffer {
        ServerFrame.encode(opcode: .ping, payload: [], allocator: allocator)
    }

    func farewell(_ end: SubscriberEnd, allocator: ByteBufferAllocator) -> ByteBuffer {
        ServerFrame.close(code: end.code, reason: end.reason, allocator: allocator)
    }

    // MARK: Reading what the client sends

    func handlerAdded(context: ChannelHandlerContext) { self.joined(context) }
    func handlerRemoved(context: ChannelHandlerContext) { self.left() }
    func channelInactive(context: ChannelHandlerContext) { self.channelEnded(context: context) }
    func channelWritabilityChanged(context: ChannelHandlerContext) { self.writabilityChanged(context: context) }
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) { self.userEvent(event, context: context) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // What the client sends after a failure is dropped, undecoded: a client flooding frames
        // costs no more work from here.
        guard !self.failed, let connection else { return }
        connection.heard()
        self.reader.append(self.unwrapInboundIn(data))
        do throws(ClientFrameReader.Refusal) {
            while !self.failed, let frame = try self.reader.next() {
                self.read(frame, connection: connection, context: context)
            }
        } catch {
            // The refusals NIO's decoder made, with the codes RFC 6455 gives them.
            switch error {
            case .tooLarge: self.fail(.messageTooLarge, "frame larger than the message limit", context: context)
            case .fragmentedControlFrame: self.fail(.protocolError, "control frames must not be fragmented", context: context)
            case .longControlFrame: self.fail(.protocolError, "control frames carry at most 125 bytes", context: context)
            }
        }
    }

    private func read(_ frame: WebSocketFrame, connection: SubscriberConnection, context: ChannelHandlerContext) {
        guard frame.maskKey != nil else {
            return self.fail(.protocolError, "client frames must be masked", context: context)
        }
        guard !frame.rsv1, !frame.rsv2, !frame.rsv3 else {
            return self.fail(.protocolError, "reserved bits set without an extension", context: context)
        }
        switch frame.opcode {
        case .text, .binary:
            guard self.fragments == nil else {
                return self.fail(.protocolError, "a new message started before the previous one ended", context: context)
            }
            if frame.fin {
                self.message(frame.unmaskedData, isText: frame.opcode == .text, connection: connection, context: context)
            } else {
                self.fragments = frame.unmaskedData
                self.fragmentsAreText = frame.opcode == .text
                self.fragmentCount = 1
            }
        case .continuation:
            // Taken out of `self` while it grows, so the buffer is not shared and each append
            // writes in place: assembling N fragments is linear, not a copy per fragment.
            guard var buffered = self.fragments else {
                return self.fail(.protocolError, "continuation frame without a message", context: context)
            }
            self.fragments = nil
            var data = frame.unmaskedData
            guard buffered.readableBytes + data.readableBytes <= self.maxMessageBytes else {
                return self.fail(.messageTooLarge, "message too large", context: context)
            }
            self.fragmentCount += 1
            guard self.fragmentCount <= Self.maxFragmentsPerMessage else {
                return self.fail(.messageTooLarge, "more than \(Self.maxFragmentsPerMessage) fragments in one message", context: context)
            }
            buffered.writeBuffer(&data)
            if frame.fin {
                self.message(buffered, isText: self.fragmentsAreText, connection: connection, context: context)
            } else {
                self.fragments = buffered
            }
        case .ping:
            connection.write(ServerFrame.pong(frame.unmaskedData, allocator: context.channel.allocator))
        case .pong:
            break
        case .connectionClose:
            switch ClientCloseFrame(payload: frame.unmaskedData) {
            case .valid(let code):
                // Echo the client's code (RFC 6455 §5.5.1); an empty close is answered with 1000.
                let echoed = code.map { WebSocketErrorCode(codeNumber: Int($0)) } ?? .normalClosure
                connection.closeAcknowledged(echo: ServerFrame.close(code: echoed, reason: "", allocator: context.channel.allocator))
            case .invalid(let code, let reason):
                self.fail(code, reason, context: context)
            }
        default:
            self.fail(.protocolError, "unknown opcode", context: context)
        }
    }

    private func message(_ payload: ByteBuffer, isText: Bool, connection: SubscriberConnection, context: ChannelHandlerContext) {
        guard isText else {
            return connection.reply(error: "binary frames are not supported; send text")
        }
        guard let text = String(validating: payload.readableBytesView, as: UTF8.self) else {
            return self.fail(.dataInconsistentWithMessage, "invalid UTF-8 in text frame", context: context)
        }
        connection.command(text)
    }

    /// Fails the connection: the close frame goes out, and what the client still sends is read
    /// and dropped, undecoded, while the connection lingers for at most
    /// ``SubscriberConnection/closeTimeout`` (closing at once could reset it before the client
    /// reads the close frame).
    private func fail(_ code: WebSocketErrorCode, _ reason: String, context: ChannelHandlerContext) {
        guard !self.failed else { return }
        self.failed = true
        self.reader = ClientFrameReader(maxPayload: 0)
        self.connection?.end(.protocolError(code, reason), afterQueued: false)
    }
}
