import HTTPTypes
import NIOCore
import NIOHTTP1

/// First on a TLS listener's connections: a client that speaks plain HTTP to it (an `http://`
/// URL for an `https://` listener) gets a plain-text HTTP 400 that says so, instead of TLS
/// alert bytes it cannot read, and the connection closes. A TLS client's first byte is 0x16 (a
/// handshake record, RFC 8446 §5.1); an HTTP request starts with a method token's letter. Any
/// first byte other than a letter goes on to the TLS handler, which decides. Removes itself
/// after the first read either way.
final class PlainHTTPRefusal: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let message = "this listener speaks TLS: use https:// (or wss://)"
    /// The same connection's, on the same event loop.
    private let watch: TLSHandshakeWatch

    init(watch: TLSHandshakeWatch) {
        self.watch = watch
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = self.unwrapInboundIn(data)
        guard let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self), Self.isLetter(first) else {
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        self.watch.refusedPlainHTTP()
        let response = HTTPError(.badRequest, Self.message).response
        var buffer = ResponseWriter.head(
            version: .http1_1, status: response.status, fields: response.headers, contentLength: response.body.readableBytes,
            connection: "close", reserving: response.body.readableBytes, allocator: context.channel.allocator
        )
        var body = response.body
        buffer.writeBuffer(&body)
        // Nothing more is read: the request may be long, and only its first byte mattered.
        context.channel.setOption(.autoRead, value: false).whenComplete { _ in }
        context.writeAndFlush(self.wrapOutboundOut(buffer)).whenComplete { _ in context.close(promise: nil) }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
    }
}
