// usage: nio-floor PORT
// POST /register {"user_id": N}       -> {"url": "ws://127.0.0.1:PORT/ws/N"}
// GET  /ws/N (WebSocket upgrade)       -> user N's connection; pings are answered, other frames ignored
// POST /publish {..."user_id":N...}    -> the body's "message" is not even parsed: the whole
//                                         body goes to user N as one text frame; {"recipients":K}
// One ChannelInboundHandler per connection, no task per request, no checks: a floor, not a server.
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

let port = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 8200
let users = NIOLockedValueBox<[Int: any Channel]>([:])

/// The digits after `"user_id":` in `body`.
func userID(in body: ByteBuffer) -> Int? {
    let key = Array(#""user_id":"#.utf8)
    return body.withUnsafeReadableBytes { bytes -> Int? in
        guard bytes.count >= key.count else { return nil }
        for start in 0...(bytes.count - key.count) where bytes[start] == key[0] {
            guard (0..<key.count).allSatisfy({ bytes[start + $0] == key[$0] }) else { continue }
            var index = start + key.count
            while index < bytes.count, bytes[index] == UInt8(ascii: " ") { index += 1 }
            var value = 0
            var digits = 0
            while index < bytes.count, (48...57).contains(bytes[index]) {
                value = value * 10 + Int(bytes[index] - 48)
                index += 1
                digits += 1
            }
            return digits > 0 ? value : nil
        }
        return nil
    }
}

final class Requests: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body = nil
        case .body(var chunk):
            if self.body == nil { self.body = chunk } else { self.body!.writeBuffer(&chunk) }
        case .end:
            guard let head = self.head else { return }
            let body = self.body ?? ByteBuffer()
            switch head.uri {
            case "/publish":
                var recipients = 0
                if let user = userID(in: body), let channel = users.withLockedValue({ $0[user] }) {
                    recipients = 1
                    let frame = WebSocketFrame(fin: true, opcode: .text, data: body)
                    channel.writeAndFlush(frame, promise: nil)
                }
                self.answer(#"{"recipients":\#(recipients)}"#, context: context, keepAlive: head.isKeepAlive)
            case "/register":
                let user = userID(in: body) ?? 0
                self.answer(#"{"url":"ws://127.0.0.1:\#(port)/ws/\#(user)"}"#, context: context, keepAlive: head.isKeepAlive)
            default:
                self.answer(#"{"status":"ok"}"#, context: context, keepAlive: head.isKeepAlive)
            }
        }
    }

    private func answer(_ json: String, context: ChannelHandlerContext, keepAlive: Bool) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(json.utf8.count))
        context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: json)))), promise: nil)
        context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        if !keepAlive { context.close(promise: nil) }
    }
}

/// Answers a subscriber's pings (the bench waits for one), drops the rest, and forgets it when it goes.
final class Subscriber: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame
    let user: Int
    init(user: Int) { self.user = user }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        guard frame.opcode == .ping else { return }
        context.writeAndFlush(self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
    }
    func channelInactive(context: ChannelHandlerContext) {
        let channel = context.channel
        users.withLockedValue { if $0[self.user] === channel { $0[self.user] = nil } }
    }
}

let upgrader = NIOWebSocketServerUpgrader(
    shouldUpgrade: { channel, head in
        channel.eventLoop.makeSucceededFuture(head.uri.hasPrefix("/ws/") ? HTTPHeaders() : nil)
    },
    upgradePipelineHandler: { channel, head in
        let user = Int(head.uri.dropFirst(4)) ?? 0
        users.withLockedValue { $0[user] = channel }
        return channel.pipeline.addHandler(Subscriber(user: user))
    }
)

let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        let requests = Requests()
        return channel.pipeline.configureHTTPServerPipeline(
            withServerUpgrade: (
                upgraders: [upgrader],
                completionHandler: { context in
                    context.pipeline.removeHandler(requests, promise: nil)
                }
            )
        ).flatMap { channel.pipeline.addHandler(requests) }
    }
    .bind(host: "127.0.0.1", port: port).get()
print("nio-floor on \(port)")
try await server.closeFuture.get()
