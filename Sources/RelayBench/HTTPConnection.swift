import NIOCore
import NIOHTTP1
import NIOPosix

/// One keep-alive HTTP/1.1 connection that sends one request at a time: the bench's publisher
/// and registrar. Plain SwiftNIO, so the load generator stays cheap.
final class HTTPConnection: Sendable {
    struct Answer: Sendable {
        let status: Int
        let body: String
    }

    private let channel: any Channel
    private let handler: NIOLoopBound<ResponseHandler>
    private let host: String

    private init(channel: any Channel, handler: NIOLoopBound<ResponseHandler>, host: String) {
        self.channel = channel
        self.handler = handler
        self.host = host
    }

    static func connect(host: String, port: Int, group: any EventLoopGroup) async throws -> HTTPConnection {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseHandler())
                }
            }
            .connect(host: host, port: port).get()
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: ResponseHandler.self), eventLoop: channel.eventLoop)
        }.get()
        return HTTPConnection(channel: channel, handler: handler, host: host)
    }

    func request(_ method: HTTPMethod, _ path: String, json: String? = nil) async throws -> Answer {
        try await self.request(method, path, body: json, contentType: "application/json")
    }

    /// Sends `body` (if any) as `contentType`; `accept` sets the `Accept` header.
    func request(_ method: HTTPMethod, _ path: String, body text: String?, contentType: String, accept: String? = nil) async throws -> Answer {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: self.host)
        if let accept { head.headers.add(name: "Accept", value: accept) }
        var body: ByteBuffer?
        if let text {
            body = self.channel.allocator.buffer(string: text)
            head.headers.add(name: "Content-Type", value: contentType)
            head.headers.add(name: "Content-Length", value: String(body!.readableBytes))
        }
        let promise = self.channel.eventLoop.makePromise(of: Answer.self)
        self.channel.eventLoop.execute {
            // A server may close a keep-alive connection (nginx after `keepalive_requests`).
            guard self.channel.isActive else { return promise.fail(ChannelError.ioOnClosedChannel) }
            self.handler.value.pending.append(promise)
            self.channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if let body {
                self.channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
            }
            self.channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        return try await promise.futureResult.get()
    }

    func close() async {
        try? await self.channel.close()
    }
}

/// Completes each request's promise, in order, with its answer.
private final class ResponseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    var pending = CircularBuffer<EventLoopPromise<HTTPConnection.Answer>>()
    private var status = 0
    private var body = ByteBuffer()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.status = Int(head.status.code)
            self.body.clear()
        case .body(var part):
            self.body.writeBuffer(&part)
        case .end:
            self.pending.popFirst()?.succeed(.init(status: self.status, body: String(buffer: self.body)))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        while let promise = self.pending.popFirst() {
            promise.fail(ChannelError.ioOnClosedChannel)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
