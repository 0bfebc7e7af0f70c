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
    private typealias Machine = HTTPConnectionStateMachine

    /// Read once per request: a reload's new router serves this connection's next request.
    private let content: ListenerContent
    private let settings: Settings
    private let meter: ReceivedBytesMeter
    private let decoder: ByteToMessageHandler<HTTPRequestDecoder>
    private let upgrader: NIOWebSocketServerUpgrader
    private let logger: Logger

    /// What the connection is doing: every decision is the machine's; this handler performs them.
    private var machine: Machine
    private var peer: RequestContext.Peer?
    private var needsFlush = false
    /// The timer of the machine's deadline; re-armed only when it fires early: moving the
    /// deadline costs nothing.
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
        self.machine = Machine(limits: settings)
    }

    // MARK: Events

    func handlerAdded(context: ChannelHandlerContext) {
        self.peer = RequestContext.Peer(logger: self.logger, remoteAddress: context.channel.remoteAddress)
        self.machine.started(now: context.eventLoop.now)
        self.armTimer(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.machine.closed()
        self.timer?.cancel()
        self.timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = self.unwrapInboundIn(data)
        let action = self.machine.received(part, router: self.content.router, now: context.eventLoop.now)
        if case .head = part {
            // A head sets the deadline for its body.
            self.armTimer(context: context)
        }
        self.perform(action, context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.perform(self.machine.readComplete(), context: context)
        if self.needsFlush {
            self.needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if self.machine.mayRead() {
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case ChannelEvent.inputClosed:
            self.perform(self.machine.inputClosed(), context: context)
        case is ChannelShouldQuiesceEvent:
            self.perform(self.machine.quiesce(), context: context)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            self.logger.debug("connection error", metadata: ["error": "\(error)"])
            return self.close(context: context)
        }
        self.perform(self.machine.parserError(parserError), context: context)
    }

    /// Told by the ``ReceivedBytesMeter`` after the decoder has read each slice of the wire.
    func received(wireBytes: Int) {
        self.machine.receivedFromTheWire(wireBytes)
    }

    // MARK: Performing the machine's actions

    private func perform(_ action: Machine.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .dispatch:
            self.dispatch(responder: nil, context: context)
        case .refuse(let error):
            self.dispatch(responder: self.content.router.refusal(error), context: context)
        case .refuseMalformed(let error):
            self.write(error.response, version: .http1_1, isHead: false, keepAlive: false, context: context)
            self.close(context: context)
        case .sendContinue(let version):
            let interim = ResponseWriter.head(
                version: version, status: .continue, fields: [:], contentLength: nil, connection: nil, reserving: 0,
                allocator: context.channel.allocator
            )
            context.writeAndFlush(self.wrapOutboundOut(interim), promise: nil)
        case .close:
            self.close(context: context)
        }
    }

    /// Runs the chain on the machine's pending request (its route's, or `responder`: a refusal
    /// behind the listener's filters), and answers now or when the reply arrives.
    private func dispatch(responder: (any Responder)?, context: ChannelHandlerContext) {
        guard let pending = self.machine.pending else { return }
        var request = pending.request
        request.parameters = pending.match.parameters
        let peer = self.peer ?? RequestContext.Peer(logger: self.logger, remoteAddress: nil)
        let requestContext = RequestContext(
            channel: context.channel, peer: peer, isWebSocketHandshake: pending.isHandshake, attributes: pending.match.attributes
        )
        switch (responder ?? pending.match.responder).respond(to: request, context: requestContext) {
        case .now(let response):
            self.answer(with: response, context: context)
        case .later(let future):
            future.hop(to: context.eventLoop).assumeIsolated().whenComplete { result in
                let response = (try? result.get()) ?? HTTPError(.internalServerError, "internal error").response
                self.needsFlush = true
                self.answer(with: response, context: context)
                self.resume(context: context)
            }
        }
    }

    private func answer(with response: Response, context: ChannelHandlerContext) {
        guard let pending = self.machine.pending else { return }
        let nioHead = pending.nioHead
        let isHead = pending.request.method == .head
        switch self.machine.answer(response, now: context.eventLoop.now) {
        case .upgrade(let handover):
            self.upgrade(nioHead, response: response, handover: handover, context: context)
        case .stream(let handover):
            self.startStream(handover, version: nioHead.version, response: response, context: context)
        case .internalError:
            let error = HTTPError(.internalServerError, "the handler switched protocols it cannot serve")
            self.write(error.response, version: nioHead.version, isHead: isHead, keepAlive: false, context: context)
            self.close(context: context)
        case .write(let keepAlive):
            self.write(response, version: nioHead.version, isHead: isHead, keepAlive: keepAlive, context: context)
            if keepAlive {
                // The machine set the idle deadline.
                self.armTimer(context: context)
            } else {
                self.close(context: context)
            }
        }
    }

    /// Handles what arrived while an answer was on its way, then reads again.
    private func resume(context: ChannelHandlerContext) {
        while let action = self.machine.nextQueued(router: self.content.router, now: context.eventLoop.now) {
            self.perform(action, context: context)
        }
        self.armTimer(context: context)
        let (close, read) = self.machine.resumed()
        if close {
            return self.close(context: context)
        }
        if self.needsFlush, context.channel.isActive {
            self.needsFlush = false
            context.flush()
        }
        if read {
            // Through the channel: once upgraded, this handler may have left the pipeline.
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

    /// Writes the `101`, then swaps the HTTP handlers for what the handler installs. Bytes the
    /// client sent after its handshake go to it as they came.
    private func upgrade(_ nioHead: HTTPRequestHead, response: Response, handover: any ConnectionHandover, context: ChannelHandlerContext) {
        var extra = HTTPHeaders()
        for field in response.headers where ![.connection, .upgrade, .contentLength, .contentType, .date, .transferEncoding].contains(field.name) {
            extra.add(name: field.name.rawName, value: field.value)
        }
        self.upgrader.buildUpgradeResponse(channel: context.channel, upgradeRequest: nioHead, initialResponseHeaders: extra)
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
                    version: nioHead.version, status: .switchingProtocols, fields: fields, contentLength: nil, connection: "Upgrade",
                    reserving: 0, allocator: context.channel.allocator
                )
                context.writeAndFlush(self.wrapOutboundOut(head), promise: nil)
                self.needsFlush = false
                do {
                    let pipeline = context.pipeline.syncOperations
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
    private func startStream(_ handover: any ConnectionHandover, version: HTTPVersion, response: Response, context: ChannelHandlerContext) {
        let chunked = version.minor >= 1
        var fields = response.headers
        fields.removeAll { Self.framedHere.contains($0.name) }
        if chunked {
            fields.append(HTTPField(name: .transferEncoding, value: "chunked"))
        }
        let head = ResponseWriter.head(
            version: version, status: response.status, fields: fields, contentLength: nil,
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
            if self.machine.takeHeldRead() {
                context.channel.read()
            }
        } catch {
            self.logger.debug("streamed answer failed", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    // MARK: Deadlines

    /// One timer per connection at most, for the machine's deadline (when the client must have
    /// sent what it owes); re-armed only when it fires early: moving the deadline costs nothing.
    private func armTimer(context: ChannelHandlerContext) {
        guard self.timer == nil, let deadline = self.machine.deadline else { return }
        self.timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.timer = nil
            self.perform(self.machine.deadlinePassed(now: context.eventLoop.now), context: context)
            // Fired early (the deadline moved on): wait for the new one.
            self.armTimer(context: context)
        }
    }
}
