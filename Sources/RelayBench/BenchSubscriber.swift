import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// One bench subscriber: a raw SwiftNIO WebSocket client that counts deliveries and records each
/// message's latency from the send timestamp the publisher wrote into it.
final class BenchSubscriber: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let counter: DeliveryCounter
    private var samples: [UInt32] = []
    private var arrivals: [UInt32] = []
    private var pongPromise: EventLoopPromise<Void>?

    init(counter: DeliveryCounter) {
        self.counter = counter
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            let payload = frame.unmaskedData
            if let sent = Self.timestamp(in: payload) {
                let now = monotonicNanoseconds()
                self.samples.append(UInt32(clamping: (now &- sent) / 1000))
                self.arrivals.append(UInt32(clamping: now >= self.counter.start ? (now - self.counter.start) / 1_000_000 : 0))
                self.counter.delivered()
            } else if payload.readableBytesView.elementsEqual("pong".utf8) {
                self.pongPromise?.succeed()
                self.pongPromise = nil
            }
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(self.wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            context.close(promise: nil)
        default:
            break
        }
    }

    /// Sends `{"topics": [...]}` then `ping`; the future completes at `pong`, when the topics apply.
    func subscribe(topics: [String], context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        let promise = context.eventLoop.makePromise(of: Void.self)
        self.pongPromise = promise
        let list = topics.map { "\"\($0)\"" }.joined(separator: ",")
        for text in [#"{"topics":[\#(list)]}"#, "ping"] {
            let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: context.channel.allocator.buffer(string: text))
            context.write(self.wrapOutboundOut(frame), promise: nil)
        }
        context.flush()
        return promise.futureResult
    }

    /// Hands the recorded latencies to the counter and starts afresh.
    func flushSamples() {
        self.counter.add(samples: self.samples, arrivals: self.arrivals)
        self.samples = []
        self.arrivals = []
    }

    /// The send timestamp of a bench message: `<sequence> <nanoseconds> <padding>`.
    static func timestamp(in payload: ByteBuffer) -> UInt64? {
        var value: UInt64 = 0
        var field = 0
        var digits = 0
        for byte in payload.readableBytesView {
            if byte == UInt8(ascii: " ") {
                if field == 1 { return digits > 0 ? value : nil }
                field += 1
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            if field == 1 {
                value = value &* 10 &+ UInt64(byte - UInt8(ascii: "0"))
                digits += 1
            }
        }
        return field == 1 && digits > 0 ? value : nil
    }
}

/// A connected bench subscriber: its channel and, on a WebSocket, its handler.
struct BenchConnection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<BenchSubscriber>?

    struct UpgradeRefused: Error {}

    /// Opens a WebSocket to `url` (`ws://HOST:PORT/PATH`) and subscribes to `topics` (nil: the
    /// URL names the topic, as nchan's do).
    static func open(url: String, topics: [String]?, counter: DeliveryCounter, group: any EventLoopGroup) async throws -> BenchConnection {
        let (host, port, path) = try BenchURL.split(url)
        let upgraded = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = NIOTypedWebSocketClientUpgrader<Bool>(maxFrameSize: 1 << 24) { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(BenchSubscriber(counter: counter))
                            return true
                        }
                    }
                    var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
                    head.headers.add(name: "Host", value: "\(host):\(port)")
                    head.headers.add(name: "Content-Length", value: "0")
                    let configuration = NIOUpgradableHTTPClientPipelineConfiguration(
                        upgradeConfiguration: NIOTypedHTTPClientUpgradeConfiguration(
                            upgradeRequestHead: head,
                            upgraders: [upgrader],
                            notUpgradingCompletionHandler: { $0.eventLoop.makeSucceededFuture(false) }
                        )
                    )
                    let result = try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: configuration)
                    return (channel, result)
                }
            }
        let (channel, result) = upgraded
        guard try await result.get() else {
            try? await channel.close()
            throw UpgradeRefused()
        }
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: BenchSubscriber.self), eventLoop: channel.eventLoop)
        }.get()
        guard let topics else { return BenchConnection(channel: channel, handler: handler) }
        let context = try await channel.pipeline.context(handlerType: BenchSubscriber.self).get()
        try await channel.eventLoop.flatSubmit {
            handler.value.subscribe(topics: topics, context: context)
        }.get()
        return BenchConnection(channel: channel, handler: handler)
    }

    func flushSamples() async {
        guard let handler = self.handler else { return }
        try? await self.channel.eventLoop.submit { handler.value.flushSamples() }.get()
    }
}

/// `ws://host:port/path` and `http://host:port` split into parts.
enum BenchURL {
    struct Invalid: Error, CustomStringConvertible {
        let url: String
        var description: String { "not a URL of the form scheme://host:port/path: \(self.url)" }
    }

    static func split(_ url: String) throws -> (host: String, port: Int, path: String) {
        guard let schemeEnd = url.range(of: "://") else { throw Invalid(url: url) }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        let parts = authority.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { throw Invalid(url: url) }
        return (String(parts[0]), port, path.isEmpty ? "/" : String(path))
    }

    /// `url` (a WebSocket URL from `register`) on the node at `base` (`http://host:port`).
    static func rehome(_ url: String, to base: String) throws -> String {
        let (_, _, path) = try Self.split(url)
        let (host, port, _) = try Self.split(base)
        return "ws://\(host):\(port)\(path)"
    }
}
