import HTTPTypes
import NIOCore
import NIOHTTP1
import Testing

@testable import RelayHTTP

/// The engine's connection as a value, without a channel: each RFC 9112 rule it keeps is a
/// sequence of events and the actions they must give.
@Suite struct HTTPConnectionStateMachineTests {
    typealias Machine = HTTPConnectionStateMachine

    static let limits = ConnectionLimits(handshakeTimeout: .seconds(10), idleTimeout: .seconds(60), maxBodyBytes: 100, maxFrameSize: 1024)
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    struct Handover: ConnectionHandover {
        func install(on channel: any Channel, framing: HandoverFraming) throws {}
    }

    static let router = Router(
        routes: [
            Route(method: .get, segments: [.literal("health")], responder: HandlerResponder { _, _ in .now(Response(status: .ok)) }),
            Route(
                method: .post, segments: [.literal("echo")],
                responder: HandlerResponder { request, _ in .now(Response(status: .ok, body: request.body)) }),
            Route(
                method: .get, segments: [.literal("ws"), .parameter("id")], responder: HandlerResponder { _, _ in .now(.webSocket(Handover())) },
                acceptsWebSocket: true
            ),
        ],
        listenerFilters: []
    )

    static func head(
        _ method: HTTPMethod = .GET, _ uri: String = "/health", version: HTTPVersion = .http1_1, _ fields: [(String, String)] = []
    ) -> HTTPServerRequestPart {
        var headers = HTTPHeaders([("Host", "example.com")])
        headers.add(contentsOf: fields)
        return .head(HTTPRequestHead(version: version, method: method, uri: uri, headers: headers))
    }

    static func machine() -> Machine {
        var machine = Machine(limits: Self.limits)
        machine.started(now: Self.start)
        return machine
    }

    /// Feeds parts and returns the last action.
    static func feed(_ machine: inout Machine, _ parts: [HTTPServerRequestPart]) -> Machine.Action {
        var last = Machine.Action.none
        for part in parts {
            last = machine.received(part, router: Self.router, now: Self.start)
        }
        return last
    }

    static let webSocketFields = [
        ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
    ]

    @Test func aRequestIsDispatchedWhenWholeThenTheConnectionWaitsForTheNextWithinTheIdleTimeout() {
        var machine = Self.machine()
        #expect(machine.deadline == Self.start + .seconds(10), "the first head is owed within the handshake timeout")
        #expect(Self.feed(&machine, [Self.head()]) == .none)
        #expect(Self.feed(&machine, [.end(nil)]) == .dispatch)
        #expect(machine.deadline == nil, "no deadline while the server works")
        #expect(machine.pending?.request.path == "/health")
        guard case .write(keepAlive: true) = machine.answer(Response(status: .ok), now: Self.start) else {
            Issue.record("a keep-alive answer")
            return
        }
        #expect(machine.deadline == Self.start + .seconds(60))
    }

    @Test func connectionCloseAndHTTP10EndTheConnectionAfterTheAnswer() {
        for parts in [[Self.head(.GET, "/health", [("Connection", "close")])], [Self.head(.GET, "/health", version: .http1_0)]] {
            var machine = Self.machine()
            #expect(Self.feed(&machine, parts + [.end(nil)]) == .dispatch)
            guard case .write(keepAlive: false) = machine.answer(Response(status: .ok), now: Self.start) else {
                Issue.record("closes after the answer: \(parts)")
                continue
            }
        }
        var keepAlive10 = Self.machine()
        _ = Self.feed(&keepAlive10, [Self.head(.GET, "/health", version: .http1_0, [("Connection", "keep-alive")]), .end(nil)])
        guard case .write(keepAlive: true) = keepAlive10.answer(Response(status: .ok), now: Self.start) else {
            Issue.record("HTTP/1.0 with keep-alive stays")
            return
        }
    }

    @Test func pipelinedRequestsWaitForTheAnswerInOrderAndReadingPauses() {
        var machine = Self.machine()
        #expect(Self.feed(&machine, [Self.head(), .end(nil)]) == .dispatch)
        // The next request arrives while the first is answered (a late answer): it waits.
        #expect(Self.feed(&machine, [Self.head(.POST, "/echo", [("Content-Length", "2")]), .body(ByteBuffer(string: "hi")), .end(nil)]) == .none)
        #expect(machine.queued.count == 3)
        let mayRead = machine.mayRead()
        #expect(!mayRead, "reading pauses while an answer is on its way")
        _ = machine.answer(Response(status: .ok), now: Self.start)
        var actions: [Machine.Action] = []
        while let action = machine.nextQueued(router: Self.router, now: Self.start) { actions.append(action) }
        #expect(actions == [.none, .none, .dispatch])
        #expect(machine.pending?.request.path == "/echo" && machine.pending?.request.body == ByteBuffer(string: "hi"))
        _ = machine.answer(Response(status: .ok), now: Self.start)
        let resumed = machine.resumed()
        #expect(!resumed.close && resumed.read, "reading resumes once the answers are written")
    }

    @Test func bodiesOverTheLimitAreRefusedWithTheRestIgnored() {
        var declared = Self.machine()
        #expect(
            Self.feed(&declared, [Self.head(.POST, "/echo", [("Content-Length", "101")])])
                == .refuse(HTTPError(.contentTooLarge, "request body too large: 101 bytes (at most 100)")))
        #expect(Self.feed(&declared, [.body(ByteBuffer(repeating: 0, count: 101)), .end(nil)]) == .none, "the rest is ignored")
        guard case .write(keepAlive: false) = declared.answer(HTTPError(.contentTooLarge, "").response, now: Self.start) else {
            Issue.record("the connection closes after a refusal")
            return
        }

        var chunked = Self.machine()
        _ = Self.feed(&chunked, [Self.head(.POST, "/echo", [("Transfer-Encoding", "chunked")])])
        #expect(Self.feed(&chunked, [.body(ByteBuffer(repeating: 1, count: 60))]) == .none)
        #expect(
            Self.feed(&chunked, [.body(ByteBuffer(repeating: 1, count: 41))])
                == .refuse(HTTPError(.contentTooLarge, "request body too large: more than 100 bytes")))

        // The framing counts too: chunk sizes and extensions on the wire (RFC 9112 §7.1.1).
        var framed = Self.machine()
        _ = Self.feed(&framed, [Self.head(.POST, "/echo", [("Transfer-Encoding", "chunked")])])
        framed.receivedFromTheWire(0)
        framed.receivedFromTheWire(150)
        let afterRead = framed.readComplete()
        #expect(afterRead == .refuse(HTTPError(.contentTooLarge, "request body too large: more than 100 bytes with its framing")))
    }

    @Test func expectationsAreAnsweredOrRefused() {
        var continues = Self.machine()
        #expect(Self.feed(&continues, [Self.head(.POST, "/echo", [("Content-Length", "2"), ("Expect", "100-continue")])]) == .sendContinue(.http1_1))
        var refused = Self.machine()
        #expect(
            Self.feed(&refused, [Self.head(.POST, "/echo", [("Content-Length", "2"), ("Expect", "something-else")])])
                == .refuse(HTTPError(.expectationFailed, "only Expect: 100-continue is supported")))
    }

    @Test func malformedHeadsGetOneAnswerAndTheConnectionCloses() {
        var noHost = Self.machine()
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/health", headers: HTTPHeaders())
        #expect(Self.feed(&noHost, [.head(head)]) == .refuseMalformed(HTTPError(.badRequest, "missing Host header field")))
        #expect(Self.feed(&noHost, [Self.head(), .end(nil)]) == .none, "nothing after it is read")

        var overflow = Self.machine()
        let overflowAction = overflow.parserError(.headerOverflow)
        #expect(overflowAction == .refuseMalformed(HTTPError(.requestHeaderFieldsTooLarge, "request head too large")))
        var answering = Self.machine()
        _ = Self.feed(&answering, [Self.head(), .end(nil)])
        let answeringAction = answering.parserError(.invalidChunkSize)
        #expect(answeringAction == .none, "the request being answered was whole")
        #expect(answering.ending)
    }

    @Test func theClientsEndAndAShutdownCloseWhenIdleOrAfterTheAnswer() {
        var idle = Self.machine()
        let idleAction = idle.inputClosed()
        #expect(idleAction == .close)
        var quiescing = Self.machine()
        let quiesceAction = quiescing.quiesce()
        #expect(quiesceAction == .close)

        var busy = Self.machine()
        _ = Self.feed(&busy, [Self.head(), .end(nil)])
        let busyAction = busy.inputClosed()
        #expect(busyAction == .none, "the answer under way is written first")
        guard case .write(keepAlive: false) = busy.answer(Response(status: .ok), now: Self.start) else {
            Issue.record("no next request after the client's end")
            return
        }

        // A head begun but not whole keeps a shutting-down connection open until it is answered.
        var underway = Self.machine()
        let readAction = underway.readComplete()
        let underwayAction = underway.quiesce()
        #expect(readAction == .none && underwayAction == .none)
    }

    @Test func aLateClientIsClosedAtItsDeadlineAndNotBefore() {
        var machine = Self.machine()
        let early = machine.deadlinePassed(now: Self.start + .seconds(9))
        let due = machine.deadlinePassed(now: Self.start + .seconds(10))
        #expect(early == .none && due == .close)
        var working = Self.machine()
        _ = Self.feed(&working, [Self.head(), .end(nil)])
        let working100 = working.deadlinePassed(now: Self.start + .seconds(100))
        #expect(working100 == .none, "no deadline while the server works")
    }

    @Test func handshakesAreHandedOverOnlyWithAHandover() {
        var accepted = Self.machine()
        #expect(Self.feed(&accepted, [Self.head(.GET, "/ws/1", Self.webSocketFields), .end(nil)]) == .dispatch)
        #expect(accepted.isHandshake)
        guard case .upgrade = accepted.answer(.webSocket(Handover()), now: Self.start) else {
            Issue.record("a 101 with a handover upgrades")
            return
        }
        #expect(accepted.deadline == nil)

        var bare101 = Self.machine()
        _ = Self.feed(&bare101, [Self.head(.GET, "/ws/1", Self.webSocketFields), .end(nil)])
        guard case .internalError = bare101.answer(Response(status: .switchingProtocols), now: Self.start) else {
            Issue.record("a 101 without a handover is the server's error")
            return
        }

        var refused = Self.machine()
        _ = Self.feed(&refused, [Self.head(.GET, "/ws/1", Self.webSocketFields), .end(nil)])
        guard case .write(keepAlive: false) = refused.answer(HTTPError(.forbidden, "no").response, now: Self.start) else {
            Issue.record("a refused handshake closes after its answer")
            return
        }

        var badVersion = Self.machine()
        let fields = Self.webSocketFields.map { $0.0 == "Sec-WebSocket-Version" ? ($0.0, "8") : $0 }
        guard case .refuse(let error) = Self.feed(&badVersion, [Self.head(.GET, "/ws/1", fields)]) else {
            Issue.record("a bad handshake is refused before the chain")
            return
        }
        #expect(error.status == .upgradeRequired || error.status == .badRequest, "\(error)")
    }

    @Test func streamsAreHandedOverToGetButHEADGetsTheHeadAlone() {
        var get = Self.machine()
        _ = Self.feed(&get, [Self.head(), .end(nil)])
        guard case .stream = get.answer(.stream(Handover()), now: Self.start) else {
            Issue.record("a streamed answer takes the connection")
            return
        }
        var head = Self.machine()
        _ = Self.feed(&head, [Self.head(.HEAD, "/health"), .end(nil)])
        guard case .write(keepAlive: true) = head.answer(.stream(Handover()), now: Self.start) else {
            Issue.record("HEAD gets the head and keeps the connection")
            return
        }
    }

    @Test func aConnectionCloseTrailerEndsTheConnectionAfterTheAnswer() {
        var machine = Self.machine()
        _ = Self.feed(&machine, [Self.head(.POST, "/echo", [("Transfer-Encoding", "chunked")]), .body(ByteBuffer(string: "x"))])
        #expect(Self.feed(&machine, [.end(HTTPHeaders([("Connection", "close")]))]) == .dispatch)
        guard case .write(keepAlive: false) = machine.answer(Response(status: .ok), now: Self.start) else {
            Issue.record("closes after the answer")
            return
        }
    }

    @Test func partsOutOfOrderCloseTheConnection() {
        var machine = Self.machine()
        #expect(Self.feed(&machine, [.body(ByteBuffer(string: "x"))]) == .close)
    }
}
