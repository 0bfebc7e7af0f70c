import NIOCore
import NIOHTTP1
import NIOPosix

extension BenchConnection {
    /// Opens the Server-Sent Events stream of the client whose WebSocket URL `url` is (`register`
    /// hands those out): `GET eventsPath/ID` on the same host, open once its `200` head arrives.
    /// What the stream sends afterwards is read and dropped (the connect scenario counts openings).
    static func openEventStream(url: String, eventsPath: String, group: any EventLoopGroup) async throws -> BenchConnection {
        let (host, port, path) = try BenchURL.split(url)
        let id = path.split(separator: "/").last.map(String.init) ?? ""
        let (channel, opened) = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let opener = EventStreamOpener(path: "\(eventsPath)/\(id)", host: "\(host):\(port)", eventLoop: channel.eventLoop)
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(opener)
                    return (channel, opener.opened.futureResult)
                }
            }
        let status = try await opened.get()
        guard status == 200 else {
            try? await channel.close()
            throw BenchError(message: "GET \(eventsPath)/\(id) answered \(status)")
        }
        return BenchConnection(channel: channel, handler: nil)
    }
}

/// Sends the stream's `GET` once connected and reports the answer's status; drops the body.
private final class EventStreamOpener: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let opened: EventLoopPromise<Int>
    private let head: HTTPRequestHead

    init(path: String, host: String, eventLoop: any EventLoop) {
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
        head.headers.add(name: "Host", value: host)
        head.headers.add(name: "Accept", value: "text/event-stream")
        self.head = head
        self.opened = eventLoop.makePromise()
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(self.wrapOutboundOut(.head(self.head)), promise: nil)
        context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let response) = self.unwrapInboundIn(data) {
            self.opened.succeed(Int(response.status.code))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.opened.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.opened.fail(error)
        context.close(promise: nil)
    }
}
