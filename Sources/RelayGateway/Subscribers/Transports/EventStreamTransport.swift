import NIOCore

/// A subscriber over Server-Sent Events (`text/event-stream`, the `events` handler): each message
/// is an event whose `id` is every topic's position on the stream; notices are named events;
/// a comment line keeps it alive (proxies time out idle streams, and a client that is gone shows
/// up as a failed write); a `close` event and the end of the body end it. Events go out as
/// HTTP/1.1 chunks when `chunked`.
///
/// The client has nothing to say on an event stream: what it sends is dropped.
final class EventStreamTransport: SubscriberTransport, ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    var connection: SubscriberConnection?
    private let chunked: Bool

    init(chunked: Bool) {
        self.chunked = chunked
    }

    // MARK: Framing what the server sends

    var carriesPositions: Bool { true }
    var sendsEventStreamData: Bool { true }
    var takesCommands: Bool { false }
    var keepaliveWantsAnswer: Bool { false }
    var awaitsFarewellAnswer: Bool { false }

    func message(_ message: PublishedMessage, envelope: Bool, id: String?) -> ByteBuffer {
        EventStreamFrame.event(id: id, name: nil, data: message.eventStreamData, chunked: self.chunked)
    }

    func replayed(_ stored: PublishedMessage, topic: String, position: StreamPosition, id: String?) -> ByteBuffer {
        EventStreamFrame.event(id: id, name: nil, data: stored.eventStreamData, chunked: self.chunked)
    }

    func notice(_ name: String, _ value: some Encodable, id: String?) -> ByteBuffer {
        EventStreamFrame.notice(name, value, id: id, chunked: self.chunked)
    }

    func say(_ json: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        EventStreamFrame.event(id: nil, name: "notice", data: EventStreamFrame.data(json), chunked: self.chunked, allocator: allocator)
    }

    func keepalive(allocator: ByteBufferAllocator) -> ByteBuffer {
        EventStreamFrame.comment("ping", chunked: self.chunked, allocator: allocator)
    }

    /// A `close` event saying why, then the end of the body (the last chunk).
    func farewell(_ end: SubscriberEnd, allocator: ByteBufferAllocator) -> ByteBuffer {
        var farewell = EventStreamFrame.event(
            id: nil, name: "close", data: EventStreamFrame.data(end.reason), chunked: self.chunked, allocator: allocator
        )
        if self.chunked {
            farewell.writeImmutableBuffer(EventStreamFrame.lastChunk)
        }
        return farewell
    }

    // MARK: The channel's events

    func handlerAdded(context: ChannelHandlerContext) { self.joined(context) }
    func handlerRemoved(context: ChannelHandlerContext) { self.left() }
    func channelInactive(context: ChannelHandlerContext) { self.channelEnded(context: context) }
    func channelWritabilityChanged(context: ChannelHandlerContext) { self.writabilityChanged(context: context) }
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) { self.userEvent(event, context: context) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Nothing a client sends on an event stream means anything.
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
