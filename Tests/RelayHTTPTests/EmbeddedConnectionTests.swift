import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import RelayHTTP

/// Whole connections of the engine on an `EmbeddedChannel`: the bytes a client sends in, the
/// bytes the server writes out, no socket and no clock but the channel's.
@Suite struct EmbeddedConnectionTests {
    /// Records that it took a connection, and how its bytes are framed.
    final class Handover: ConnectionHandover {
        let installed = Mutex<HandoverFraming?>(nil)
        func install(on channel: any Channel, framing: HandoverFraming) throws { self.installed.withLock { $0 = framing } }
    }

    /// A listener's connection: `/health`, `POST /echo`, `/ws/{id}` (accepts WebSockets with
    /// `handover`), `/events` (a stream handed to `handover`).
    static func connection(handover: Handover = Handover(), maxBodyBytes: Int = 64) throws -> EmbeddedChannel {
        let router = Router(
            routes: [
                Route(
                    method: .get, segments: [.literal("health")], responder: HandlerResponder { _, _ in .now(.json(.ok, ByteBuffer(string: "{}"))) }),
                Route(
                    method: .post, segments: [.literal("echo")],
                    responder: HandlerResponder { request, _ in .now(Response(status: .ok, body: request.body)) }
                ),
                Route(
                    method: .get, segments: [.literal("ws"), .parameter("id")],
                    responder: HandlerResponder { _, context in
                        guard context.isWebSocketHandshake else { throw HTTPError(.upgradeRequired, "needs a WebSocket") }
                        return .now(.webSocket(handover))
                    },
                    acceptsWebSocket: true
                ),
                Route(method: .get, segments: [.literal("events")], responder: HandlerResponder { _, _ in .now(.stream(handover)) }),
            ],
            listenerFilters: []
        )
        var configuration = HTTPServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.maxBodyBytes = maxBodyBytes
        let channel = EmbeddedChannel()
        try HTTPServer.configure(
            channel, content: ListenerContent(router: router), settings: ConnectionLimits(configuration), limits: HTTPServer.limits(configuration),
            upgrader: HTTPServer.upgrader(configuration), tls: nil, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    /// Everything the server wrote so far, as text.
    static func written(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            text += String(buffer: buffer)
        }
        return text
    }

    static func statuses(_ text: String) -> [Int] {
        text.matches(of: #/HTTP/1\.[01] (\d{3}) /#).compactMap { Int($0.1) }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let channel = try Self.connection()
        try channel.writeInbound(
            ByteBuffer(
                string: "GET /health HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
                    + "GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n"))
        let text = try Self.written(channel)
        #expect(Self.statuses(text) == [200, 200, 404], "\(text)")
        #expect(text.contains("\r\n\r\nhello"), "the echo's body")
        #expect(channel.isActive, "keep-alive")
    }

    @Test func aMalformedRequestGetsExactlyOneAnswerAndTheConnectionCloses() throws {
        let channel = try Self.connection()
        try? channel.writeInbound(
            ByteBuffer(string: "GET /health HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxGET /health HTTP/1.1\r\n\r\n"))
        let text = try Self.written(channel)
        #expect(Self.statuses(text) == [400], "\(text)")
        #expect(text.contains("Connection: close"))
        #expect(!channel.isActive)
    }

    @Test func aBodyOverTheLimitIs413AndTheConnectionCloses() throws {
        let channel = try Self.connection(maxBodyBytes: 8)
        try? channel.writeInbound(
            ByteBuffer(string: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"))
        let text = try Self.written(channel)
        #expect(Self.statuses(text) == [413], "\(text)")
        #expect(!channel.isActive)
    }

    @Test func anAcceptedHandshakeIsUpgradedAndHandedOver() throws {
        let handover = Handover()
        let channel = try Self.connection(handover: handover)
        try channel.writeInbound(
            ByteBuffer(
                string: "GET /ws/1 HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
        channel.embeddedEventLoop.run()
        let text = try Self.written(channel)
        #expect(text.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"), "\(text)")
        #expect(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "RFC 6455's example key and answer")
        #expect(handover.installed.withLock { $0 } == .webSocket)
        #expect((try? channel.pipeline.syncOperations.handler(type: HTTPConnection.self)) == nil, "the HTTP handlers left")
    }

    /// A request with a body, pipelined behind one whose answer came late: read whole once the first is answered.
    @Test func aBodyPipelinedBehindALateAnswerIsReadWhole() throws {
        let late = Mutex<EventLoopPromise<Response>?>(nil)
        let router = Router(
            routes: [
                Route(
                    method: .get, segments: [.literal("slow")],
                    responder: HandlerResponder { _, context in
                        let promise = context.eventLoop.makePromise(of: Response.self)
                        late.withLock { $0 = promise }
                        return .later(promise.futureResult)
                    }),
                Route(
                    method: .post, segments: [.literal("echo")],
                    responder: HandlerResponder { request, _ in .now(Response(status: .ok, body: request.body)) }
                ),
            ],
            listenerFilters: []
        )
        let configuration = HTTPServer.Configuration(host: "127.0.0.1", port: 0)
        let channel = EmbeddedChannel()
        try HTTPServer.configure(
            channel, content: ListenerContent(router: router), settings: ConnectionLimits(configuration), limits: HTTPServer.limits(configuration),
            upgrader: HTTPServer.upgrader(configuration), tls: nil, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(
            ByteBuffer(string: "GET /slow HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"))
        #expect(try Self.written(channel).isEmpty, "the first answer is not ready")
        late.withLock { $0 }?.succeed(Response(status: .accepted))
        channel.embeddedEventLoop.run()
        let text = try Self.written(channel)
        #expect(Self.statuses(text) == [202, 200], "\(text)")
        #expect(text.hasSuffix("\r\n\r\nhello"), "\(text)")
    }

    /// RFC 9112's framing errors, every one: exactly one answer (400, or 431 for an oversized
    /// head) with a JSON body and `Connection: close`, and the connection closes at once. (Two of
    /// them also run live, in `HTTPFramingTests`, with another client served meanwhile.)
    static let malformed: [(name: String, request: String, status: Int)] = [
        (
            "Content-Length with Transfer-Encoding",
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400
        ),
        ("two different Content-Lengths", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400),
        ("invalid Content-Length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
        ("negative Content-Length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
        ("Transfer-Encoding not ending in chunked", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
        ("unknown Transfer-Encoding", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
        ("bad chunk size", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400),
        ("missing Host", "GET /health HTTP/1.1\r\n\r\n", 400),
        ("two Hosts", "GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("invalid Host", "GET /health HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
        ("Host with a space", "GET /health HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
        ("HTTP/1.0 with Transfer-Encoding", "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("obsolete line folding", "GET /health HTTP/1.1\r\nHost: x\r\nX-A: b\r\n  c\r\n\r\n", 400),
        ("space before the colon", "GET /health HTTP/1.1\r\nHost : x\r\n\r\n", 400),
        ("garbage request line", "HELLO\r\n\r\n", 400),
        ("not a request target", "GET health HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        // llhttp refuses versions other than 1.0 and 1.1 while it parses: no HTTP/1 message.
        ("HTTP/2.0 on the request line", "GET /health HTTP/2.0\r\nHost: x\r\n\r\n", 400),
        ("HTTP/1.2 on the request line", "GET /health HTTP/1.2\r\nHost: x\r\n\r\n", 400),
        ("10,000 header fields", "GET /health HTTP/1.1\r\nHost: x\r\n" + String(repeating: "X-A: b\r\n", count: 10_000) + "\r\n", 431),
        ("a 1 MB header field", "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 1_000_000) + "\r\n\r\n", 431),
        ("a 100 KB path", "GET /" + String(repeating: "a", count: 100_000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 431),
    ]

    @Test(arguments: malformed.map(\.name))
    func malformedRequestsGetOneAnswerAndTheConnectionClosesAtOnce(name: String) throws {
        let (_, request, status) = Self.malformed.first { $0.name == name }!
        let channel = try Self.connection(maxBodyBytes: 1024)
        try? channel.writeInbound(ByteBuffer(string: request))
        let answer = try Self.written(channel)
        #expect(Self.statuses(answer) == [status], "\(name): \(answer.prefix(300))")
        #expect(answer.lowercased().contains("connection: close"), "\(name): \(answer.prefix(300))")
        #expect(answer.contains(#"{"error":""#), "\(name): \(answer.prefix(300))")
        #expect(!channel.isActive, "\(name): closed at once, not at a timeout")
    }

    @Test func aPlainGETToAWebSocketRouteIs426AndAStreamIsChunked() throws {
        let plain = try Self.connection()
        try plain.writeInbound(ByteBuffer(string: "GET /ws/1 HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(Self.statuses(try Self.written(plain)) == [426])

        let handover = Handover()
        let stream = try Self.connection(handover: handover)
        try stream.writeInbound(ByteBuffer(string: "GET /events HTTP/1.1\r\nHost: a\r\n\r\n"))
        let head = try Self.written(stream)
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n") && head.contains("Transfer-Encoding: chunked"), "\(head)")
        #expect(!head.contains("Content-Length"))
        #expect(handover.installed.withLock { $0 } == .chunked)
    }

    @Test func anIdleConnectionIsClosedAtTheHandshakeTimeout() throws {
        let channel = try Self.connection()
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive, "no head within the handshake timeout (10 s)")
    }
}
