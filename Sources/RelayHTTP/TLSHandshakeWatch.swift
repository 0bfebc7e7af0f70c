import NIOCore
import NIOSSL
import NIOTLS

/// Why a connection to a TLS listener never got to HTTP.
public enum TLSFailure: String, Sendable, CaseIterable {
    /// TLS refused what the client sent (a bad or unsupported hello, no shared version or cipher).
    case handshake
    /// The connection ended before the handshake completed (the client left, or the handshake
    /// deadline closed it).
    case incomplete
    /// The client spoke plain HTTP (answered 400 by ``PlainHTTPRefusal``).
    case plainHTTP = "plain_http"
}

/// Right behind the TLS handler: reports each connection whose TLS handshake never completed,
/// once, with why; removes itself once the handshake completes.
final class TLSHandshakeWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let onFailure: @Sendable (TLSFailure) -> Void
    private var settled = false

    init(onFailure: @escaping @Sendable (TLSFailure) -> Void) {
        self.onFailure = onFailure
    }

    /// Called by the connection's ``PlainHTTPRefusal``, on the same event loop.
    func refusedPlainHTTP() {
        guard !self.settled else { return }
        self.settled = true
        self.onFailure(.plainHTTP)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            self.settled = true
            context.fireUserInboundEventTriggered(event)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !self.settled, case NIOSSLError.handshakeFailed(let cause) = error {
            self.settled = true
            // NIO reports a connection that ended mid-handshake as a failed handshake too.
            if case .sslError(let stack) = cause, stack.contains(.eofDuringHandshake) {
                self.onFailure(.incomplete)
            } else {
                self.onFailure(.handshake)
            }
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !self.settled {
            self.settled = true
            self.onFailure(.incomplete)
        }
        context.fireChannelInactive()
    }
}
