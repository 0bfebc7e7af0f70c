import HTTPTypes
import NIOCore
import NIOHTTP1

/// What one HTTP/1.1 connection is doing, as a value: fed what happens (a request part read, a
/// read finished, an answer ready, the client's input ended, a shutdown, a deadline, a parser
/// error) and answering with what to do (``Action``, ``AnswerAction``), which ``HTTPConnection``,
/// the channel handler, performs. It never touches the channel, so every rule of RFC 9112 it
/// keeps can be tested without one (`HTTPConnectionStateMachineTests`); the way SwiftNIO's own
/// HTTP/2 and HTTP/1 client state machines are built.
///
/// Requests are answered in order: while one waits for its answer, the parts the client sends
/// next wait in ``queued`` and reading pauses. A malformed request gets exactly one answer and the
/// connection closes. A request refused before its body has the rest of it ignored, and the
/// connection closes after the answer.
struct HTTPConnectionStateMachine {
    /// A request whose head was accepted, until its answer is written. A class: the states and
    /// the handler pass one reference around instead of copying a dozen fields each time
    /// (callgrind: a struct cost some 9,000 instructions per request in copies).
    final class Pending {
        let nioHead: HTTPRequestHead
        /// The request as the chain sees it; its body is attached when it is whole.
        var request: Request
        let match: Router.Match
        var body: ByteBuffer?
        /// Whether the connection may serve another request after this one.
        var keepAlive: Bool
        /// A WebSocket handshake (checked) on a route that accepts them.
        var isHandshake = false

        init(nioHead: HTTPRequestHead, request: Request, match: Router.Match, keepAlive: Bool) {
            self.nioHead = nioHead
            self.request = request
            self.match = match
            self.keepAlive = keepAlive
        }
    }

    enum State {
        /// Between requests. `headUnderway`: bytes of a head not yet whole have arrived.
        case awaitingHead(headUnderway: Bool)
        /// The head of `pending` was accepted; its body is arriving. `wireBytes`: the bytes that
        /// came after the head as sent, framing included (chunk sizes, extensions, trailers), which
        /// count against the body limit (RFC 9112 §7.1.1); nil until the slice that brought the
        /// head has been parsed.
        case readingBody(Pending, wireBytes: Int?)
        /// An answer is on its way; what the client sends meanwhile waits in ``queued``.
        case responding
        /// The request was refused before its body (413, 417, a bad handshake): the rest of it is
        /// dropped and the connection closes after the answer.
        case ignoringRest
        /// A WebSocket or a streamed body took the connection.
        case handedOver
        case closed
    }

    /// What to do with the channel.
    enum Action: Equatable {
        case none
        /// Run the route's chain on the whole request (``Pending``).
        case dispatch
        /// Answer with this error behind the listener's filters (so it is logged and carries CORS
        /// headers), before the request's body: the connection closes after it.
        case refuse(HTTPError)
        /// A request that cannot be read as one: one answer straight from the engine, then close.
        case refuseMalformed(HTTPError)
        /// `100 Continue`: the client waits for it before sending its body.
        case sendContinue(HTTPVersion)
        case close
    }

    /// What to do with an answer.
    enum AnswerAction {
        /// Write the `101` and hand the connection to the WebSocket `handover`.
        case upgrade(any ConnectionHandover)
        /// Write the head of a streamed body and hand the connection to `handover`.
        case stream(any ConnectionHandover)
        /// Write the answer; then serve the next request (`keepAlive`), or close.
        case write(keepAlive: Bool)
        /// The handler switched protocols it cannot serve: answer 500 instead, then close.
        case internalError
    }

    let limits: ConnectionLimits
    private(set) var state = State.awaitingHead(headUnderway: false)
    /// The request being answered, as it went to the chain (its body attached), or as refused
    /// (set by ``Action/dispatch`` and ``Action/refuse(_:)``).
    private(set) var pending: Pending?
    /// Parts that arrived while an answer was on its way, handled once it is written.
    private(set) var queued = CircularBuffer<HTTPServerRequestPart>(initialCapacity: 4)
    /// Whether the last read delivered a part.
    private var partInRead = false
    /// Set by a shutdown (quiesce) or a client that closed its sending side: no next request.
    private(set) var ending = false
    /// Whether reading waits for the answer under way.
    private(set) var readHeld = false
    /// When the client must have sent what it owes (a head, a body); nil while the server works.
    private(set) var deadline: NIODeadline?

    init(limits: ConnectionLimits) {
        self.limits = limits
    }

    /// The connection was accepted at `now`: its first head is owed within the handshake timeout.
    mutating func started(now: NIODeadline) {
        self.deadline = now + self.limits.handshakeTimeout
    }

    // MARK: Reading

    /// A part the decoder read.
    mutating func received(_ part: HTTPServerRequestPart, router: Router, now: @autoclosure () -> NIODeadline) -> Action {
        self.partInRead = true
        if case .responding = self.state {
            self.queued.append(part)
            return .none
        }
        return self.handle(part, router: router, now: now)
    }

    private mutating func handle(_ part: HTTPServerRequestPart, router: Router, now: () -> NIODeadline) -> Action {
        switch self.state {
        case .ignoringRest, .closed, .handedOver:
            return .none
        case .awaitingHead:
            guard case .head(let head) = part else { return self.outOfOrder() }
            return self.begin(head, router: router, now: now())
        case .responding:
            return self.outOfOrder()
        case .readingBody:
            break
        }
        // Only sizes are read out here: the request stays in the state alone, so its body grows in place.
        let bodyBytes: Int
        let wireBytes: Int?
        if case .readingBody(let pending, let wire) = self.state {
            bodyBytes = pending.body?.readableBytes ?? 0
            wireBytes = wire
        } else {
            return self.outOfOrder()
        }
        if (wireBytes ?? 0) > self.limits.maxBodyBytes {
            return self.refuseRequestBeingRead(self.tooLargeOnTheWire)
        }
        switch part {
        case .head:
            return self.outOfOrder()
        case .body(var chunk):
            guard bodyBytes + chunk.readableBytes <= self.limits.maxBodyBytes else {
                return self.refuseRequestBeingRead(
                    HTTPError(.contentTooLarge, "request body too large: more than \(self.limits.maxBodyBytes) bytes"))
            }
            self.appendToBody(&chunk)
            return .none
        case .end(let trailers):
            guard case .readingBody(let pending, _) = self.state else { return self.outOfOrder() }
            if let trailers, trailers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "close" }) {
                // A trailer field is no header (RFC 9110 §6.5.1), but NIO's parser takes this one
                // as the end of the connection and refuses whatever follows: so the answer says
                // `Connection: close`, and the connection closes cleanly after it.
                pending.keepAlive = false
            }
            return self.dispatch(pending)
        }
    }

    private mutating func refuseRequestBeingRead(_ error: HTTPError) -> Action {
        guard case .readingBody(let pending, _) = self.state else { return self.outOfOrder() }
        return self.refuse(pending, error)
    }

    /// Appends to the body being read, in place (the buffer is held by the request alone, so
    /// appending N parts is linear, not a copy per part).
    private mutating func appendToBody(_ chunk: inout ByteBuffer) {
        guard case .readingBody(let pending, _) = self.state else { return }
        if pending.body == nil {
            pending.body = chunk
        } else {
            pending.body!.writeBuffer(&chunk)
        }
    }

    /// The decoder never delivers parts out of order; if it did, the connection could not go on.
    private mutating func outOfOrder() -> Action {
        self.state = .closed
        return .close
    }

    private mutating func begin(_ head: HTTPRequestHead, router: Router, now: NIODeadline) -> Action {
        self.deadline = now + self.limits.handshakeTimeout
        let request: Request
        do throws(HTTPError) {
            request = try RequestHeadRules.request(from: head)
        } catch {
            return self.malformed(error)
        }
        let fields = request.headers
        let tokens = ConnectionTokens(fields)
        let declaredLength = fields.first(.contentLength).flatMap { Int($0) } ?? 0
        let hasBody = declaredLength > 0 || fields.first(.transferEncoding) != nil
        let match = router.match(method: request.method, path: request.path)
        // The decoder stops reading after a request that asks to switch protocols, so such a
        // connection ends after its answer unless it is upgraded.
        let switchesProtocols = tokens.upgrade && fields.first(.upgrade) != nil
        let keepAlive = (head.version.minor >= 1 ? !tokens.close : tokens.keepAlive) && !switchesProtocols
        let pending = Pending(nioHead: head, request: request, match: match, keepAlive: keepAlive)
        if match.acceptsWebSocket && HandshakeRules.asksForWebSocket(fields) {
            do throws(HTTPError) {
                try HandshakeRules.validate(fields, version: head.version, hasBody: hasBody)
            } catch {
                return self.refuse(pending, error)
            }
            pending.keepAlive = false
            pending.isHandshake = true
        }
        guard declaredLength <= self.limits.maxBodyBytes else {
            return self.refuse(
                pending, HTTPError(.contentTooLarge, "request body too large: \(declaredLength) bytes (at most \(self.limits.maxBodyBytes))")
            )
        }
        self.state = .readingBody(pending, wireBytes: nil)
        if let expectation = fields.first(.expect) {
            guard expectation.lowercased() == "100-continue" else {
                return self.refuse(pending, HTTPError(.expectationFailed, "only Expect: 100-continue is supported"))
            }
            if hasBody {
                return .sendContinue(head.version)
            }
        }
        return .none
    }

    /// Told after the decoder has read each slice of the wire (``ReceivedBytesMeter``): while a
    /// body is being read, the slice counts toward its size on the wire. Within the slice that
    /// brought the head only the body bytes decoded count, since it also holds the head (and
    /// whatever came before it).
    mutating func receivedFromTheWire(_ bytes: Int) {
        guard case .readingBody(let pending, let wireBytes) = self.state else { return }
        self.state = .readingBody(pending, wireBytes: wireBytes.map { $0 + bytes } ?? (pending.body?.readableBytes ?? 0))
    }

    /// A read finished: a read that delivered no part brought bytes of a head not yet whole, and a
    /// body past the limit on the wire is refused now.
    mutating func readComplete() -> Action {
        defer { self.partInRead = false }
        switch self.state {
        case .awaitingHead where !self.partInRead:
            self.state = .awaitingHead(headUnderway: true)
        case .readingBody(_, let wireBytes?) where wireBytes > self.limits.maxBodyBytes:
            return self.refuseRequestBeingRead(self.tooLargeOnTheWire)
        default:
            break
        }
        return .none
    }

    /// The channel asks for more bytes: false while an answer is on its way (reading resumes
    /// once it is written).
    mutating func mayRead() -> Bool {
        guard case .responding = self.state else { return true }
        self.readHeld = true
        return false
    }

    private var tooLargeOnTheWire: HTTPError {
        HTTPError(.contentTooLarge, "request body too large: more than \(self.limits.maxBodyBytes) bytes with its framing")
    }

    // MARK: Answering

    private mutating func dispatch(_ pending: Pending) -> Action {
        self.deadline = nil
        pending.request.body = pending.body ?? ByteBuffer()
        pending.body = nil
        self.pending = pending
        self.state = .responding
        return .dispatch
    }

    private mutating func refuse(_ pending: Pending, _ error: HTTPError) -> Action {
        self.deadline = nil
        pending.body = nil
        pending.keepAlive = false
        pending.isHandshake = false
        self.pending = pending
        self.state = .ignoringRest
        return .refuse(error)
    }

    private mutating func malformed(_ error: HTTPError) -> Action {
        self.state = .closed
        self.queued.removeAll()
        return .refuseMalformed(error)
    }

    /// The answer to ``pending`` is ready: what to do with it (``pending`` is let go). A refusal's answer (the state is
    /// then ``State/ignoringRest``) closes the connection after it, whatever it says.
    mutating func answer(_ response: Response, now: @autoclosure () -> NIODeadline) -> AnswerAction {
        guard let pending = self.pending.take() else { return .write(keepAlive: false) }
        let ignoringRest: Bool
        if case .ignoringRest = self.state { ignoringRest = true } else { ignoringRest = false }
        switch (pending.isHandshake, response.status == .switchingProtocols, response.handover) {
        case (true, true, let handover?):
            return self.handOver(.upgrade(handover))
        case (false, false, let handover?) where response.status.kind == .successful && pending.request.method != .head:
            return self.handOver(.stream(handover))
        case (_, true, _):
            self.state = .closed
            return .internalError
        default:
            break
        }
        let keepAlive = pending.keepAlive && !self.ending && !ignoringRest && !ConnectionTokens(response.headers).close
        guard keepAlive else {
            self.state = .closed
            return .write(keepAlive: false)
        }
        self.state = .awaitingHead(headUnderway: false)
        self.deadline = self.limits.idleTimeout.map { now() + $0 }
        return .write(keepAlive: true)
    }

    private mutating func handOver(_ action: AnswerAction) -> AnswerAction {
        self.state = .handedOver
        self.deadline = nil
        self.queued.removeAll()
        return action
    }

    /// Whether reading was held for the answer just written (it resumes now).
    mutating func takeHeldRead() -> Bool {
        defer { self.readHeld = false }
        return self.readHeld
    }

    /// Whether the pending request is a WebSocket handshake (checked) on a route that accepts them.
    var isHandshake: Bool { self.pending?.isHandshake ?? false }

    /// After a late answer was written: the next queued part to handle, while the connection
    /// reads a request (its head, then its body); nil when none is queued, or the connection is
    /// answering again or done.
    mutating func nextQueued(router: Router, now: @autoclosure () -> NIODeadline) -> Action? {
        switch self.state {
        case .awaitingHead, .readingBody:
            guard let part = self.queued.popFirst() else { return nil }
            return self.handle(part, router: router, now: now)
        case .responding, .ignoringRest, .handedOver, .closed:
            return nil
        }
    }

    /// After a late answer and the parts queued meanwhile: whether the connection is done (no
    /// next request will come), and whether reading was held and resumes.
    mutating func resumed() -> (close: Bool, read: Bool) {
        if case .awaitingHead(let headUnderway) = self.state, self.ending, self.queued.isEmpty, !headUnderway {
            self.state = .closed
            return (true, false)
        }
        switch self.state {
        case .responding, .closed:
            return (false, false)
        default:
            defer { self.readHeld = false }
            return (false, self.readHeld)
        }
    }

    // MARK: The connection's end

    /// The client sent all it will: close now unless an answer is under way. A head begun can
    /// never be finished now (and the read that brought the end of input counts as one that
    /// delivered nothing, so it must not keep the connection open).
    mutating func inputClosed() -> Action {
        self.ending = true
        if case .awaitingHead = self.state {
            self.state = .awaitingHead(headUnderway: false)
            if self.queued.isEmpty {
                self.state = .closed
                return .close
            }
        }
        return .none
    }

    /// A shutdown: no next request; close now if idle, else after the answer under way.
    mutating func quiesce() -> Action {
        self.ending = true
        if case .awaitingHead(headUnderway: false) = self.state, self.queued.isEmpty {
            self.state = .closed
            return .close
        }
        return .none
    }

    /// The parser refused the bytes: a request being read gets one answer (431 for an oversized
    /// head, else 400); a request being answered was whole, and nothing after it can be read.
    mutating func parserError(_ error: HTTPParserError) -> Action {
        switch self.state {
        case .awaitingHead, .readingBody:
            let status: HTTPResponse.Status = error == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest
            return self.malformed(HTTPError(status, Self.describe(error)))
        case .responding:
            self.ending = true
            self.queued.removeAll()
            return .none
        case .ignoringRest, .handedOver, .closed:
            return .none
        }
    }

    /// The deadline's timer fired at `now`: close if the client is late, else wait on (nil: no deadline).
    mutating func deadlinePassed(now: NIODeadline) -> Action {
        guard let deadline = self.deadline, deadline <= now else { return .none }
        self.state = .closed
        return .close
    }

    /// The channel closed.
    mutating func closed() {
        self.state = .closed
        self.pending = nil
        self.queued.removeAll()
        self.deadline = nil
    }

    static func describe(_ error: HTTPParserError) -> String {
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
