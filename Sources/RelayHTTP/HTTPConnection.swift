import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// One HTTP/1.1 connection, on its event loop: reads each request (NIO's decoder parses it),
/// checks it against RFC 9112, runs its route's chain right there (no task, no hop), writes the
/// answer, and keeps the connection or closes it as the request and answer say. A WebSocket
/// handshake its route accepts turns the connection into a WebSocket; anything else refused ends
/// it after the answer.
///
/// Requests are answered in order: while one waits for a `.later` reply, what the client sends
/// next waits too (reading pauses). A malformed request gets exactly one `400` (or `431` for an
/// oversized head), with `Connection: close`, and the connection closes at once.
final class HTTPConnection: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Fixed when the connection is accepted (a reload's new limits apply to later ones).
    typealias Settings = ConnectionLimits

    private enum State {
        case awaitingHead
        /// The head of ``pending`` was accepted; its body is arriving.
        case readingBody
        /// A `.later` answer is on its way; what the client sends meanwhile is queued.
        case responding
        /// The request was refused before its body (413, 417, a bad handshake): the rest of it
        /// is dropped and the connection closes after the answer.
        case ignoringRest
        case upgraded
        case closed
    }

    /// A request whose head was accepted, until its answer is written.
    private struct Pending {
        let nioHead: HTTPRequestHead
        var request: Request
        let match: Router.Match
        var body: ByteBuffer?
        /// Whether the connection may serve another request after this one.
        var keepAlive: Bool
        /// A WebSocket handshake (checked) on a route that accepts them.
        var isHandshake = false
    }

    /// Read once per request: a reload's new router serves this connection's next request.
    private let content: ListenerContent
    private let settings: Settings
    private let meter: ReceivedBytesMeter
    private let decoder: ByteToMessageHandler<HTTPRequestDecoder>
    private let upgrader: NIOWebSocketServerUpgrader
    private let logger: Logger

    private var state = State.awaitingHead
    /// The request being read (``State/readingBody``), kept beside the state so its body grows in place.
    private var pending: Pending?
    /// The bytes that came after the request's head as it was sent, framing included (chunk
    /// sizes and extensions, trailers): they count against the body limit (RFC 9112 §7.1.1).
    /// Nil until the slice that brought the head has been parsed; then each slice adds its size
    /// (``received(wireBytes:)``).
    private var bodyBytesOnTheWire: Int?
    private var peer: RequestContext.Peer?
    /// Parts that arrived while an answer was on its way, handled once it is written.
    private var queued = CircularBuffer<HTTPServerRequestPart>()
    private var readHeld = false
    private var needsFlush = false
    /// Whether the last read delivered a part, and whether bytes of a head not yet whole have
    /// arrived (a read that delivered nothing): a connection is idle only without them.
    private var partInRead = false
    private var headUnderway = false
    /// Set by a shutdown (quiesce) or a client that closed its sending side: no next request.
    private var ending = false
    /// When the client must have sent what it owes (a head, a body); nil while the server works.
    private var deadline: NIODeadline?
    private var timer: Scheduled<Void>?

    init(
        content: ListenerContent, settings: Settings, meter: ReceivedBytesMeter, decoder: ByteToMessageHandler<HTTPRequestDecoder>,
        upgrader: NIOWebSocketServerUpgrader, logger: Logger
    ) {
        self.content = content
        self.settings = settings
        self.meter = meter
        self.decoder = decoder
        self.upgrader = upgrader
        self.logger = logger
    }

    // MARK: Events

    func handlerAdded(context: ChannelHandlerContext) {
        self.peer = RequestContext.Peer(logger: self.logger, remoteAddress: context.channel.remoteAddress)
        self.expect(within: self.settings.handshakeTimeout, context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.state = .closed
        self.pending = nil
        self.queued.removeAll()
        self.timer?.cancel()
        self.timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = self.unwrapInboundIn(data)
        self.partInRead = true
        if case .responding = self.state {
            return self.queued.append(part)
        }
        self.handle(part, context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !self.partInRead, case .awaitingHead = self.state {
            self.headUnderway = true
        }
        if case .readingBody = self.state, self.bodyPassesTheLimitOnTheWire {
            self.refuseBodyOnTheWire(context: context)
        }
        self.partInRead = false
        if self.needsFlush {
            self.needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if case .responding = self.state {
            self.readHeld = true
            return
        }
        context.read()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case ChannelEvent.inputClosed:
            // The client sent all it will: close now unless an answer is under way. A head begun
            // can never be finished now (and the read that brought the end of input counts as
            // one that delivered nothing, so it must not keep the connection open).
            self.ending = true
            self.headUnderway = false
            if case .awaitingHead = self.state, self.queued.isEmpty {
                self.close(context: context)
            }
        case is ChannelShouldQuiesceEvent:
            // No next request: close now if idle, else after the answer under way.
            self.ending = true
            if case .awaitingHead = self.state, self.queued.isEmpty, !self.headUnderway {
                self.close(context: context)
            }
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            self.logger.debug("connection error", metadata: ["error": "\(error)"])
            return self.close(context: context)
        }
        switch self.state {
        case .awaitingHead, .readingBody:
            let status: HTTPResponse.Status = parserError == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest
            self.refuseMalformed(HTTPError(status, Self.describe(parserError)), context: context)
        case .responding:
            // The request being answered was whole; nothing after it can be read.
            self.ending = true
            self.queued.removeAll()
        case .ignoringRest, .upgraded, .closed:
            break
        }
    }

    // MARK: Requests

    private func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch (self.state, part) {
        case (.awaitingHead, .head(let head)):
            self.begin(head, context: context)
        case (.readingBody, _) where self.bodyPassesTheLimitOnTheWire:
            self.refuseBodyOnTheWire(context: context)
        case (.readingBody, .body(var chunk)):
            let received = (self.pending?.body?.readableBytes ?? 0) + chunk.readableBytes
            guard received <= self.settings.maxBodyBytes else {
                return self.refuse(
                    self.pending.take()!, HTTPError(.contentTooLarge, "request body too large: more than \(self.settings.maxBodyBytes) bytes"),
                    context: context
                )
            }
            if self.pending?.body == nil {
                self.pending?.body = chunk
            } else {
                self.pending?.body!.writeBuffer(&chunk)
            }
        case (.readingBody, .end(let trailers)):
            var pending = self.pending.take()!
            if let trailers, trailers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "close" }) {
                // A trailer field is no header (RFC 9110 §6.5.1), but NIO's parser takes this one
                // as the end of the connection and refuses whatever follows: so the answer says
                // `Connection: close`, and the connection closes cleanly after it.
                pending.keepAlive = false
            }
            self.dispatch(pending, context: context)
        case (.ignoringRest, _), (.closed, _), (.upgraded, _):
            break
        case (.awaitingHead, .body), (.awaitingHead, .end), (.readingBody, .head), (.responding, _):
            // The decoder never delivers these out of order.
            self.close(context: context)
        }
    }

    private func begin(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        self.headUnderway = false
        self.expect(within: self.settings.handshakeTimeout, context: context)
        let request: Request
        do throws(HTTPError) {
            request = try RequestHeadRules.request(from: head)
        } catch {
            return self.refuseMalformed(error, context: context)
        }
        let fields = request.headers
        let tokens = ConnectionTokens(fields)
        let declaredLength = fields.first(.contentLength).flatMap { Int($0) } ?? 0
        let hasBody = declaredLength > 0 || fields.first(.transferEncoding) != nil
        let match = self.content.router.match(method: request.method, path: request.path)
        // The decoder stops reading after a request that asks to switch protocols, so such a
        // connection ends after its answer unless it is upgraded.
        let switchesProtocols = tokens.upgrade && fields.first(.upgrade) != nil
        var keepAlive = head.version.minor >= 1 ? !tokens.close : tokens.keepAlive
        keepAlive = keepAlive && !switchesProtocols
        var pending = Pending(nioHead: head, request: request, match: match, body: nil, keepAlive: keepAlive)
        if match.acceptsWebSocket && HandshakeRules.asksForWebSocket(fields) {
            do throws(HTTPError) {
                try HandshakeRules.validate(fields, version: head.version, hasBody: hasBody)
            } catch {
                return self.refuse(pending, error, context: context)
            }
            pending.keepAlive = false
            pending.isHandshake = true
        }
        guard declaredLength <= self.settings.maxBodyBytes else {
            return self.refuse(
                pending, HTTPError(.contentTooLarge, "request body too large: \(declaredLength) bytes (at most \(self.settings.maxBodyBytes))"),
                context: context
            )
        }
        if let expectation = fields.first(.expect) {
            guard expectation.lowercased() == "100-continue" else {
                return self.refuse(pending, HTTPError(.expectationFailed, "only Expect: 100-continue is supported"), context: context)
            }
            if hasBody {
                let interim = ResponseWriter.head(
                    version: head.version, status: .continue, fields: [:], contentLength: nil, connection: nil, reserving: 0,
                    allocator: context.channel.allocator
                )
                context.writeAndFlush(self.wrapOutboundOut(interim), promise: nil)
            }
        }
        self.pending = pending
        self.bodyBytesOnTheWire = nil
        self.state = .readingBody
    }

    /// Told by the ``ReceivedBytesMeter`` after the decoder has read each slice of the wire: while
    /// a body is being read, the slice counts toward its size on the wire. Within the slice that
    /// brought the head only the body bytes decoded count, since it also holds the head (and
    /// whatever came before it).
    func received(wireBytes: Int) {
        guard case .readingBody = self.state else { return }
        self.bodyBytesOnTheWire = self.bodyBytesOnTheWire.map { $0 + wireBytes } ?? (self.pending?.body?.readableBytes ?? 0)
    }

    private var bodyPassesTheLimitOnTheWire: Bool {
        (self.bodyBytesOnTheWire ?? 0) > self.settings.maxBodyBytes
    }

    private func refuseBodyOnTheWire(context: ChannelHandlerContext) {
        self.refuse(
            self.pending.take()!,
            HTTPError(.contentTooLarge, "request body too large: more than \(self.settings.maxBodyBytes) bytes with its framing"),
            context: context
        )
    }

    /// Runs the route's chain on the whole request.
    private func dispatch(_ pending: Pending, context: ChannelHandlerContext) {
        self.deadline = nil
        var request = pending.request
        request.body = pending.body ?? ByteBuffer()
        request.parameters = pending.match.parameters
        let peer = self.peer ?? RequestContext.Peer(logger: self.logger, remoteAddress: nil)
        let requestContext = RequestContext(
            channel: context.channel, peer: peer, isWebSocketHandshake: pending.isHandshake, attributes: pending.match.attributes
        )
        switch pending.match.responder.respond(to: request, context: requestContext) {
        case .now(let response):
            self.answer(pending, with: response, context: context)
        case .later(let future):
            self.state = .responding
            future.hop(to: context.eventLoop).assumeIsolated().whenComplete { result in
                let response = (try? result.get()) ?? HTTPError(.internalServerError, "internal error").response
                self.needsFlush = true
                self.answer(pending, with: response, context: context)
                self.resume(context: context)
            }
        }
    }

    /// A request refused before its body was read (its answer still runs behind the listener's
    /// filters, so it is logged and carries CORS headers); the connection closes after it.
    private func refuse(_ pending: Pending, _ error: HTTPError, context: ChannelHandlerContext) {
        let refusal = Pending(
            nioHead: pending.nioHead, request: pending.request,
            match: Router.Match(responder: self.content.router.refusal(error), parameters: Parameters(), acceptsWebSocket: false),
            body: nil, keepAlive: false
        )
        self.state = .ignoringRest
        self.dispatch(refusal, context: context)
    }

    /// A request that cannot be read as one: one answer straight from the engine, then close.
    private func refuseMalformed(_ error: HTTPError, context: ChannelHandlerContext) {
        self.state = .closed
        self.queued.removeAll()
        self.write(error.response, version: .http1_1, isHead: false, keepAlive: false, context: context)
        self.close(context: context)
    }

    private func answer(_ pending: Pending, with response: Response, context: ChannelHandlerContext) {
        switch (pending.isHandshake, response.status == .switchingProtocols, response.handover) {
        case (true, true, let handover?):
            return self.upgrade(pending, response: response, handover: handover, context: context)
        case (false, false, let handover?) where response.status.kind == .successful && pending.request.method != .head:
            return self.startStream(handover, pending: pending, response: response, context: context)
        case (_, true, _):
            // A 101 without a handover, or to a request that is no handshake: nothing can serve it.
            var refused = pending
            refused.isHandshake = false
            refused.keepAlive = false
            return self.answer(
                refused, with: HTTPError(.internalServerError, "the handler switched protocols it cannot serve").response, context: context)
        default:
            break
        }
        let keepAlive = pending.keepAlive && !self.ending && !ConnectionTokens(response.headers).close
        self.write(response, version: pending.nioHead.version, isHead: pending.request.method == .head, keepAlive: keepAlive, context: context)
        guard keepAlive else {
            self.state = .closed
            return self.close(context: context)
        }
        self.state = .awaitingHead
        self.expect(within: self.settings.idleTimeout, context: context)
    }

    /// Handles what arrived while an answer was on its way, then reads again.
    private func resume(context: ChannelHandlerContext) {
        while case .awaitingHead = self.state, let part = self.queued.popFirst() {
            self.handle(part, context: context)
        }
        switch self.state {
        case .responding, .closed:
            return
        case .awaitingHead where self.ending && self.queued.isEmpty && !self.headUnderway:
            return self.close(context: context)
        case .awaitingHead, .readingBody, .ignoringRest:
            if self.needsFlush {
                self.needsFlush = false
                context.flush()
            }
        case .upgraded:
            break
        }
        if self.readHeld {
            // Through the channel: once upgraded, this handler may have left the pipeline.
            self.readHeld = false
            context.channel.read()
        }
    }

    // MARK: Writing

    private func write(_ response: Response, version: HTTPVersion, isHead: Bool, keepAlive: Bool, context: ChannelHandlerContext) {
        var fields = response.headers
        if fields.contains(where: { Self.framedHere.contains($0.name) }) {
            fields.removeAll { Self.framedHere.contains($0.name) }
        }
        let code = response.status.code
        let mayHaveBody = !(100..<200).contains(code) && code != 204 && code != 304
        let body = mayHaveBody && !isHead ? response.body : ByteBuffer()
        let inline = body.readableBytes <= ResponseWriter.inlineBodyBytes
        // A streamed answer to HEAD: the framing GET would have, and no length (RFC 9110 §8.6).
        let streamed = isHead && mayHaveBody && response.handover != nil
        if streamed && version.minor >= 1 {
            fields.append(HTTPField(name: .transferEncoding, value: "chunked"))
        }
        var buffer = ResponseWriter.head(
            version: version, status: response.status, fields: fields,
            contentLength: mayHaveBody && !streamed ? response.body.readableBytes : nil,
            connection: !keepAlive ? "close" : version.minor == 0 ? "keep-alive" : nil,
            reserving: inline ? body.readableBytes : 0, allocator: context.channel.allocator
        )
        if inline {
            var body = body
            buffer.writeBuffer(&body)
            context.write(self.wrapOutboundOut(buffer), promise: nil)
        } else {
            context.write(self.wrapOutboundOut(buffer), promise: nil)
            context.write(self.wrapOutboundOut(body), promise: nil)
        }
        self.needsFlush = true
    }

    /// Fields the connection writes itself, from the answer it frames.
    private static let framedHere: [HTTPField.Name] = [.contentLength, .connection, .date, .transferEncoding]

    private func close(context: ChannelHandlerContext) {
        if self.needsFlush {
            self.needsFlush = false
            context.flush()
        }
        self.timer?.cancel()
        self.timer = nil
        context.close(promise: nil)
    }

    // MARK: WebSocket

    /// Writes the `101`, then swaps the HTTP handlers for a WebSocket frame decoder and what the
    /// handler installs. Bytes the client sent after its handshake go to the frame decoder.
    private func upgrade(_ pending: Pending, response: Response, handover: any ConnectionHandover, context: ChannelHandlerContext) {
        self.state = .upgraded
        self.deadline = nil
        var extra = HTTPHeaders()
        for field in response.headers where ![.connection, .upgrade, .contentLength, .contentType, .date, .transferEncoding].contains(field.name) {
            extra.add(name: field.name.rawName, value: field.value)
        }
        self.upgrader.buildUpgradeResponse(channel: context.channel, upgradeRequest: pending.nioHead, initialResponseHeaders: extra)
            .hop(to: context.eventLoop)
            .assumeIsolated()
            .whenComplete { result in
                guard case .success(let headers) = result else { return self.close(context: context) }
                var fields = HTTPFields()
                for (name, value) in headers {
                    if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
                }
                fields.removeAll { $0.name == .connection }
                let head = ResponseWriter.head(
                    version: pending.nioHead.version, status: .switchingProtocols, fields: fields, contentLength: nil, connection: "Upgrade",
                    reserving: 0, allocator: context.channel.allocator
                )
                context.writeAndFlush(self.wrapOutboundOut(head), promise: nil)
                self.needsFlush = false
                do {
                    let pipeline = context.pipeline.syncOperations
                    try pipeline.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: self.settings.maxFrameSize)))
                    try handover.install(on: context.channel, framing: .webSocket)
                    let (meter, decoder) = (self.meter, self.decoder)
                    pipeline.removeHandler(context: context, promise: nil)
                    pipeline.removeHandler(decoder, promise: nil)
                    pipeline.removeHandler(meter, promise: nil)
                } catch {
                    self.logger.debug("WebSocket upgrade failed", metadata: ["error": "\(error)"])
                    context.close(promise: nil)
                }
            }
    }

    // MARK: Streamed bodies

    /// Writes the head of a streamed answer, then hands the connection to what `handover` installs
    /// and leaves the pipeline with the request decoder (as an upgrade does).
    private func startStream(_ handover: any ConnectionHandover, pending: Pending, response: Response, context: ChannelHandlerContext) {
        self.state = .upgraded
        self.deadline = nil
        self.queued.removeAll()
        let chunked = pending.nioHead.version.minor >= 1
        var fields = response.headers
        fields.removeAll { Self.framedHere.contains($0.name) }
        if chunked {
            fields.append(HTTPField(name: .transferEncoding, value: "chunked"))
        }
        let head = ResponseWriter.head(
            version: pending.nioHead.version, status: response.status, fields: fields, contentLength: nil,
            connection: chunked ? nil : "close", reserving: 0, allocator: context.channel.allocator
        )
        context.writeAndFlush(self.wrapOutboundOut(head), promise: nil)
        self.needsFlush = false
        do {
            try handover.install(on: context.channel, framing: chunked ? .chunked : .untilClose)
            let pipeline = context.pipeline.syncOperations
            let (meter, decoder) = (self.meter, self.decoder)
            pipeline.removeHandler(context: context, promise: nil)
            pipeline.removeHandler(decoder, promise: nil)
            pipeline.removeHandler(meter, promise: nil)
            if self.readHeld {
                self.readHeld = false
                context.channel.read()
            }
        } catch {
            self.logger.debug("streamed answer failed", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    // MARK: Deadlines

    /// The client must send what it owes within `timeout` (nil: no limit). One timer per
    /// connection at most, re-armed only when it fires early: moving the deadline costs nothing.
    private func expect(within timeout: TimeAmount?, context: ChannelHandlerContext) {
        self.deadline = timeout.map { .now() + $0 }
        self.armTimer(context: context)
    }

    private func armTimer(context: ChannelHandlerContext) {
        guard self.timer == nil, let deadline = self.deadline else { return }
        self.timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.timer = nil
            guard let deadline = self.deadline else { return }
            if deadline <= .now() {
                self.close(context: context)
            } else {
                self.armTimer(context: context)
            }
        }
    }

    private static func describe(_ error: HTTPParserError) -> String {
        switch error {
        case .headerOverflow: "request head too large"
        case .unexpectedContentLength: "conflicting message framing: Content-Length with Transfer-Encoding, or two Content-Lengths"
        case .invalidContentLength: "invalid Content-Length"
        case .invalidChunkSize: "invalid chunk size"
        case .invalidEOFState: "the request ended early"
        case .invalidMethod: "invalid method"
        case .invalidURL: "invalid request target"
        case .invalidVersion: "invalid HTTP version"
        case .invalidHeaderToken: "invalid header field"
        case .lfExpected, .invalidConstant, .strictModeAssertion: "malformed request"
        default: "malformed request: \(error)"
        }
    }
}
