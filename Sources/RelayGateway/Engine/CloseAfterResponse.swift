import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes the connection after a response that says `Connection: close` (RFC 9112 §9.6), so a
/// client or proxy that would reuse it opens a new one instead of waiting on a dead connection.
/// The gateway says it where it cannot go on reading the connection: a WebSocket handshake that
/// is not the first request on its connection.
final class CloseAfterResponse: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var closeAtEnd = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch self.unwrapOutboundIn(data) {
        case .head(let head):
            if head.headerFields[.connection]?.lowercased() == "close" {
                self.closeAtEnd = true
            }
            context.write(data, promise: promise)
        case .end where self.closeAtEnd:
            context.writeAndFlush(data).whenComplete { _ in context.close(promise: nil) }
            promise?.succeed()
        default:
            context.write(data, promise: promise)
        }
    }
}
