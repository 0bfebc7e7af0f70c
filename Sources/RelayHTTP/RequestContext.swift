import Logging
import NIOCore

/// Where a request came from, handed to every filter and handler beside the request. Filters
/// and handlers run on `eventLoop`, the loop that owns the connection, and must never block it.
public struct RequestContext: Sendable {
    /// The connection the request came on.
    public let channel: any Channel
    let peer: Peer
    /// Whether the request is a WebSocket handshake (RFC 6455, checked) on a route that accepts
    /// them: its handler accepts it with ``Response/webSocket(_:headers:)``.
    public let isWebSocketHandshake: Bool
    /// What the route says of itself (``Route/attributes``), then what the filters before this
    /// point learnt about the request (``RequestAttributes``).
    public var attributes: RequestAttributes

    public var eventLoop: any EventLoop { self.channel.eventLoop }
    public var logger: Logger { self.peer.logger }
    /// The peer's address, read once per connection.
    public var remoteAddress: SocketAddress? { self.peer.remoteAddress }
    /// The peer's IP address as text (no port), or `"unknown"`; formatted once per connection.
    public var peerAddress: String { self.peer.address }

    /// What every request of one connection shares, made once: a request's context copies one reference.
    final class Peer: Sendable {
        let logger: Logger
        let remoteAddress: SocketAddress?
        let address: String

        init(logger: Logger, remoteAddress: SocketAddress?) {
            self.logger = logger
            self.remoteAddress = remoteAddress
            self.address = remoteAddress?.ipAddress ?? "unknown"
        }
    }
}
