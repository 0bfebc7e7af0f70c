import NIOCore

/// How a ``SubscriberConnection`` talks to its client: the transport frames what the connection
/// sends (messages, notices, keepalives, the farewell) and, as the channel handler at the end of
/// the pipeline, reads what the client sends and tells the connection what the channel does.
/// WebSocket (``WebSocketTransport``) and Server-Sent Events (``EventStreamTransport``) today;
/// WebSocket with permessage-deflate and HTTP/2 streams are further transports of the same shape.
///
/// A transport holds its connection until it leaves the pipeline (the connection holds it for
/// good): the channel's end breaks the cycle.
protocol SubscriberTransport: AnyObject {
    /// Set once, before the handler joins the pipeline.
    var connection: SubscriberConnection? { get set }

    /// Whether each event names every topic's position (an event stream's ids), so positions are
    /// tracked whether or not the client asked for envelopes.
    var carriesPositions: Bool { get }
    /// Whether it sends messages as Server-Sent Events `data:` lines (publishes encode them once
    /// while any connection does).
    var sendsEventStreamData: Bool { get }
    /// Whether envelope mode and the commands that need it (`resume`) mean anything here.
    var takesCommands: Bool { get }

    /// A live message in the client's form (`envelope`: envelope mode's); `id` is every topic's
    /// position when ``carriesPositions``.
    func message(_ message: PublishedMessage, envelope: Bool, id: String?) -> ByteBuffer
    /// A message replayed from history, at `position` of `topic`.
    func replayed(_ stored: PublishedMessage, topic: String, position: StreamPosition, id: String?) -> ByteBuffer
    /// A notice the connection sends on its own (`recovered`, `subscribed`) as JSON `value`.
    func notice(_ name: String, _ value: some Encodable, id: String?) -> ByteBuffer
    /// Something the server says to the client: `json` is `{"notice": ...}` or `{"error": ...}`.
    func say(_ json: String, allocator: ByteBufferAllocator) -> ByteBuffer

    /// What keeps an idle connection alive; whether the client must answer it within
    /// `ping_timeout` (a WebSocket ping) or need not (an event stream's comment line).
    func keepalive(allocator: ByteBufferAllocator) -> ByteBuffer
    var keepaliveWantsAnswer: Bool { get }

    /// What ends the connection from the server's side, saying why; whether the server then
    /// waits for the client's answer (RFC 6455's closing handshake) or closes once it is written.
    func farewell(_ end: SubscriberEnd, allocator: ByteBufferAllocator) -> ByteBuffer
    var awaitsFarewellAnswer: Bool { get }
}

/// What every transport's handler does with the channel's events, whatever it reads.
extension SubscriberTransport {
    func joined(_ context: ChannelHandlerContext) {
        self.connection?.started(context: context)
    }

    func left() {
        self.connection?.stopped()
        self.connection = nil
    }

    func channelEnded(context: ChannelHandlerContext) {
        self.connection?.channelEnded()
        context.fireChannelInactive()
    }

    func writabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            self.connection?.writable()
        }
        context.fireChannelWritabilityChanged()
    }

    /// A shutdown ends the connection after what is queued; a client that closed its sending side
    /// is gone (the server allows half-closure for HTTP), so the connection closes instead of
    /// writing into it.
    func userEvent(_ event: Any, context: ChannelHandlerContext) {
        switch event {
        case is ChannelShouldQuiesceEvent:
            self.connection?.end(.shutdown, afterQueued: true)
        case ChannelEvent.inputClosed:
            context.close(promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }
}
