import NIOCore
import NIOWebSocket
import RelayCore

/// The tail of a subscriber's pipeline: reads the client's frames (commands, pings, close),
/// pings and times out a silent client, and ends its ``SubscriberSession`` when the connection
/// ends.
final class ClientFrameHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame

    private let session: SubscriberSession
    private let relay: Relay<WebSocketSubscriber>
    private let registrations: any RegistrationStore
    private let history: TopicHistory<PublishedMessage>?
    private var clientID: ClientID { self.session.clientID }
    private var feed: SubscriberFeed { self.session.feed }
    private var outbound: SubscriberOutbound { self.session.outbound }
    private let maxMessageBytes: Int
    private let keepalive: Keepalive
    private var lastHeard = NIODeadline.now()
    private var sweep: KeepaliveSweep?
    private var allocator = ByteBufferAllocator()
    /// A text message arriving in several frames, until its final frame.
    private var fragments: ByteBuffer?
    private var fragmentsAreText = false
    private var fragmentCount = 0
    private var failed = false
    private var context: ChannelHandlerContext?
    /// The credentials it was opened with (a `jwt` filter's), if any.
    private let access: SessionAccess?
    /// At most this many frames make one message (each costs a frame's work, whatever its size).
    static let maxFragmentsPerMessage = 1024

    init(
        session: SubscriberSession,
        relay: Relay<WebSocketSubscriber>,
        registrations: any RegistrationStore,
        history: TopicHistory<PublishedMessage>?,
        maxMessageBytes: Int,
        keepalive: Keepalive,
        identity: RequestIdentity?,
        token: String?
    ) {
        self.access = identity.map { SessionAccess($0, token: token) }
        self.session = session
        self.relay = relay
        self.registrations = registrations
        self.history = history
        self.maxMessageBytes = maxMessageBytes
        self.keepalive = keepalive
    }

    /// Server pings: every `interval`, and a connection silent for `timeout` is closed.
    struct Keepalive {
        let interval: TimeAmount?
        let timeout: TimeAmount
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.access?.start(on: context.eventLoop) { [weak self] in
            self?.outbound.close(code: .policyViolation, reason: "token expired", cause: .tokenExpired, afterQueued: false)
        }
        guard let interval = self.keepalive.interval else { return }
        self.allocator = context.channel.allocator
        self.sweep = KeepaliveSweep.current(on: context.eventLoop, interval: interval)
        self.sweep?.add(self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.access?.stop()
        self.leaveSweep()
    }

    /// Called by the event loop's ``KeepaliveSweep`` every `ping_interval`.
    func keepaliveTick() {
        if NIODeadline.now() - self.lastHeard > self.keepalive.timeout {
            self.leaveSweep()
            self.outbound.close(code: .goingAway, reason: "ping timeout", cause: .pingTimeout, afterQueued: false)
        } else {
            self.outbound.send(ServerFrame.encode(opcode: .ping, payload: [], allocator: self.allocator))
        }
    }

    private func leaveSweep() {
        self.sweep?.remove(self)
        self.sweep = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.leaveSweep()
        self.session.end()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelShouldQuiesceEvent:
            self.outbound.close(code: .goingAway, reason: "server shutting down", cause: .shutdown, afterQueued: true)
        case ChannelEvent.inputClosed:
            // The server allows half-closure for HTTP; a WebSocket client that closed its side
            // without a close frame is gone, so end the connection instead of writing into it.
            context.close(promise: nil)
        default:
            break
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// The frame decoder's refusals (a frame over `max_message_bytes`, a fragmented or oversized
    /// control frame) close the connection here, with the code RFC 6455 gives them.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let error = error as? NIOWebSocketError else {
            return context.fireErrorCaught(error)
        }
        switch error {
        case .invalidFrameLength: self.fail(code: .messageTooLarge, "frame larger than the message limit")
        case .fragmentedControlFrame: self.fail(code: .protocolError, "control frames must not be fragmented")
        case .multiByteControlFrameLength: self.fail(code: .protocolError, "control frames carry at most 125 bytes")
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Frames already read with the one that failed the connection are dropped too.
        guard !self.failed else { return }
        let frame = self.unwrapInboundIn(data)
        self.lastHeard = .now()
        guard frame.maskKey != nil else {
            return self.fail(code: .protocolError, "client frames must be masked")
        }
        guard !frame.rsv1, !frame.rsv2, !frame.rsv3 else {
            return self.fail(code: .protocolError, "reserved bits set without an extension")
        }
        switch frame.opcode {
        case .text, .binary:
            guard self.fragments == nil else {
                return self.fail(code: .protocolError, "a new message started before the previous one ended")
            }
            if frame.fin {
                self.message(frame.unmaskedData, isText: frame.opcode == .text, context: context)
            } else {
                self.fragments = frame.unmaskedData
                self.fragmentsAreText = frame.opcode == .text
                self.fragmentCount = 1
            }
        case .continuation:
            // Taken out of `self` while it grows, so the buffer is not shared and each append
            // writes in place: assembling N fragments is linear, not a copy per fragment.
            guard var buffered = self.fragments else {
                return self.fail(code: .protocolError, "continuation frame without a message")
            }
            self.fragments = nil
            var data = frame.unmaskedData
            guard buffered.readableBytes + data.readableBytes <= self.maxMessageBytes else {
                return self.fail(code: .messageTooLarge, "message too large")
            }
            self.fragmentCount += 1
            guard self.fragmentCount <= Self.maxFragmentsPerMessage else {
                return self.fail(code: .messageTooLarge, "more than \(Self.maxFragmentsPerMessage) fragments in one message")
            }
            buffered.writeBuffer(&data)
            if frame.fin {
                self.message(buffered, isText: self.fragmentsAreText, context: context)
            } else {
                self.fragments = buffered
            }
        case .ping:
            self.outbound.send(ServerFrame.pong(frame.unmaskedData, allocator: context.channel.allocator))
        case .pong:
            break
        case .connectionClose:
            switch ClientCloseFrame(payload: frame.unmaskedData) {
            case .valid(let code):
                // Echo the client's code (RFC 6455 §5.5.1); an empty close is answered with 1000.
                let echoed = code.map { WebSocketErrorCode(codeNumber: Int($0)) } ?? .normalClosure
                self.outbound.acknowledgeClose(ServerFrame.close(code: echoed, reason: "", allocator: context.channel.allocator))
            case .invalid(let code, let reason):
                self.fail(code: code, reason)
            }
        default:
            self.fail(code: .protocolError, "unknown opcode")
        }
    }

    private func message(_ payload: ByteBuffer, isText: Bool, context: ChannelHandlerContext) {
        guard isText else {
            return self.reply(error: "binary frames are not supported; send text")
        }
        guard let text = String(validating: payload.readableBytesView, as: UTF8.self) else {
            return self.fail(code: .dataInconsistentWithMessage, "invalid UTF-8 in text frame")
        }
        do {
            switch try ClientCommand.parse(text) {
            case .ping:
                self.outbound.send(ServerFrame.text("pong", allocator: context.channel.allocator))
            case .update(let update):
                try self.apply(update)
            case .renew(let token):
                self.renew(with: token, context: context)
            }
        } catch let error as ClientCommand.Invalid {
            self.reply(error: error.message)
        } catch {
            self.reply(error: "\(error)")
        }
    }

    /// Envelope mode first, then the new topics, then the replays, so a resumed topic can be one
    /// the same command subscribes to.
    private func apply(_ update: ClientCommand.Update) throws {
        guard let before = self.relay.registration(self.clientID) else { return }
        let wasEnvelope = self.feed.envelopeMode
        if update.envelope == true {
            self.feed.enableEnvelopes()
        } else if update.envelope == false && wasEnvelope {
            throw ClientCommand.Invalid(message: "envelope mode cannot be turned off on a connection")
        }
        if var topics = update.topics {
            if let rights = self.access?.identity.topics {
                let refused = rights.refused(topics)
                if !refused.isEmpty {
                    self.reply(error: "not allowed by the token: \(refused.joined(separator: ", "))")
                    topics.removeAll { refused.contains($0) }
                }
            }
            try self.relay.setTopics(topics, for: self.clientID)
        }
        guard let registration = self.relay.registration(self.clientID) else { return }
        if update.topics != nil {
            self.feed.keepCursors(for: registration.topics)
            self.registrations.topicsChanged(self.clientID, to: registration.topics)
        }
        self.feed.resume(
            update.resume.map { ($0.topic, $0.position) }, topics: registration.topics, userID: registration.userID, history: self.history
        )
        // New topics (all of them for a client that just turned envelopes on) get their position.
        let unannounced = wasEnvelope ? registration.topics.subtracting(before.topics) : registration.topics
        self.feed.announce(unannounced.subtracting(update.resume.map(\.topic)), history: self.history)
    }

    private func reply(error message: String) {
        self.outbound.send(ServerFrame.text(JSONResponse.errorText(message), allocator: self.allocator))
    }

    /// Checks a renewed token off the event loop (its signature may take a while), then applies
    /// it here: same user only; topics it no longer allows are dropped, with a notice.
    private func renew(with token: String, context: ChannelHandlerContext) {
        guard let access = self.access, let renew = access.identity.renew else {
            return self.reply(error: "this connection was not opened with a token to renew")
        }
        guard !access.checking else {
            return self.reply(error: "a token is being checked already; send the next when it is answered")
        }
        self.check(token, with: renew, on: context.eventLoop) { handler, result in
            switch result {
            case .failure(let error):
                handler.reply(error: "token refused: \(error.message)")
            case .success(let identity):
                guard handler.adopt(identity, token: token) else {
                    return handler.reply(error: "token refused: it is for another user than the connection's")
                }
                let expiry = identity.expiresAt.map { #","expires_at":\#(Int($0))"# } ?? ""
                handler.outbound.send(ServerFrame.text(#"{"token":"accepted"\#(expiry)}"#, allocator: handler.allocator))
            }
        }
    }

    /// A reload rebuilt the `jwt` filter this connection came through: its token is checked
    /// again with `verify` (the new keys, issuer, audience, `require:`). Refused, or now for
    /// another user, it is closed with 1008 "token no longer accepted"; else it takes the new
    /// rights, and renews through the new filter from then on.
    func recheck(with verify: @escaping @Sendable (String) async throws(HTTPError) -> RequestIdentity) {
        guard let access = self.access, let token = access.token, let eventLoop = self.context?.eventLoop else { return }
        self.check(token, with: verify, on: eventLoop) { handler, result in
            // A renewal answered meanwhile holds a newer token than the one checked here.
            guard handler.access?.token == token else { return }
            guard case .success(let identity) = result, handler.adopt(identity, token: token) else {
                return handler.outbound.close(
                    code: .policyViolation, reason: "token no longer accepted", cause: .credentialsRevoked, afterQueued: false)
            }
        }
    }

    /// Runs `verify` on `token` as a task on this loop, then `done` here, if the connection is still open.
    private func check(
        _ token: String, with verify: @escaping @Sendable (String) async throws(HTTPError) -> RequestIdentity, on eventLoop: any EventLoop,
        then done: @escaping (ClientFrameHandler, Result<RequestIdentity, HTTPError>) -> Void
    ) {
        self.access?.checking = true
        eventLoop.makeFutureWithTask { () async -> Result<RequestIdentity, HTTPError> in
            do throws(HTTPError) {
                return .success(try await verify(token))
            } catch {
                return .failure(error)
            }
        }
        .assumeIsolated()
        .whenSuccess { result in
            self.access?.checking = false
            guard self.context != nil, !self.failed else { return }
            done(self, result)
        }
    }

    /// New credentials for this connection: same user only; topics they no longer allow are dropped, with a notice.
    private func adopt(_ identity: RequestIdentity, token: String) -> Bool {
        guard let access = self.access, access.replace(with: identity, token: token) else { return false }
        if let registration = self.relay.registration(self.clientID) {
            let dropped = identity.topics.refused(registration.topics)
            if !dropped.isEmpty {
                guard (try? self.relay.setTopics(registration.topics.filter(identity.topics.allows).sorted(), for: self.clientID)) == true else {
                    self.outbound.close(
                        code: .policyViolation, reason: "topics the token no longer allows could not be dropped", cause: .credentialsRevoked,
                        afterQueued: false)
                    return true
                }
                let topics = self.relay.registration(self.clientID)?.topics ?? []
                self.feed.keepCursors(for: topics)
                self.registrations.topicsChanged(self.clientID, to: topics)
                self.outbound.send(
                    ServerFrame.notice("topics no longer allowed by the token: \(dropped.joined(separator: ", "))", allocator: self.allocator))
            }
        }
        return true
    }

    /// Fails the connection (RFC 6455 §7.1.7): the close frame goes out, and nothing more the
    /// client sends is decoded or acted on: a client flooding frames costs no more work from here.
    private func fail(code: WebSocketErrorCode, _ reason: String) {
        guard !self.failed else { return }
        self.failed = true
        self.outbound.close(code: code, reason: reason, cause: .protocolError, afterQueued: false)
        try? self.context?.pipeline.syncOperations.addHandler(InputDiscarder(), position: .after(self.outbound))
    }
}

/// Put at the front of a failed connection's pipeline (behind the transport): what the client still sends is read and
/// dropped, undecoded, while the close frame goes out and the connection lingers for at most
/// ``SubscriberOutbound/closeTimeout`` (closing at once could reset it before the client reads
/// the close frame).
private final class InputDiscarder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
