import Logging
import NIOCore

/// Where a request came from, handed to every filter and handler beside the request. Filters
/// and handlers run on `eventLoop`, the loop that owns the connection, and must never block it.
public struct RequestContext: Sendable {
    /// The connection the request came on.
    public let channel: any Channel
    public let logger: Logger
    /// The peer's address, read once per connection.
    public let remoteAddress: SocketAddress?
    /// The peer's IP address as text (no port), or `"unknown"`; formatted once per connection.
    public let peerAddress: String
    /// Present while deciding a WebSocket handshake on a route that accepts them.
    public let upgrade: WebSocketUpgrade?

    public var eventLoop: any EventLoop { self.channel.eventLoop }
}
