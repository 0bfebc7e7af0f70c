import NIOCore

/// Hands NIO's request decoder each read in slices, and tells the ``HTTPConnection`` after each
/// slice how many bytes it held: the decoder passes a body on without its chunked framing, so
/// chunk extensions and trailers would otherwise cost a client nothing against the body limit.
/// Slicing (no copy) bounds what goes uncounted to one slice, however big the read.
final class ReceivedBytesMeter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let sliceBytes: Int
    /// Strong, and the connection holds this meter too: the cycle ends when the meter leaves the
    /// pipeline (the connection upgrades, or closes). A weak reference would cost the connection
    /// a side table, and every retain of it the slow path.
    var connection: HTTPConnection?
    /// The rest of the read being sliced: if the connection becomes a WebSocket (or a stream)
    /// during a slice, this handler leaves the pipeline and hands the rest on whole.
    private var rest: ByteBuffer?

    /// - Parameter maxBodyBytes: the listener's body limit; slices are no bigger (nor than 16 KiB).
    init(maxBodyBytes: Int) {
        self.sliceBytes = max(1, min(16 * 1024, maxBodyBytes))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = self.unwrapInboundIn(data)
        guard bytes.readableBytes > self.sliceBytes else {
            context.fireChannelRead(data)
            self.connection?.received(wireBytes: bytes.readableBytes)
            return
        }
        while let slice = bytes.readSlice(length: min(self.sliceBytes, bytes.readableBytes)), slice.readableBytes > 0 {
            self.rest = bytes
            context.fireChannelRead(self.wrapInboundOut(slice))
            guard self.rest != nil else { return }  // removed meanwhile: the rest went on whole
            self.rest = nil
            self.connection?.received(wireBytes: slice.readableBytes)
            guard context.channel.isActive else { return }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.connection = nil
        guard let rest = self.rest.take() else { return }
        if rest.readableBytes > 0 {
            context.fireChannelRead(self.wrapInboundOut(rest))
        }
    }
}
