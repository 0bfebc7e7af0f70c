import NIOCore
import NIOWebSocket

/// RFC 6455 §5.2 frames as a client sends them, cut from the bytes as they arrive; the rules on
/// what a frame may say (masking, reserved bits, opcodes, close payloads) are the transport's.
///
/// Written by hand, beside SwiftNIO's `WebSocketFrameDecoder`, because that decoder only runs as a
/// pipeline handler (`ByteToMessageHandler`): its handler, buffers and context cost every idle
/// subscriber about 620 bytes (massif, 10,000 idle WebSockets), a seventh of an idle connection.
/// This reader holds nothing between frames: only the bytes of a frame not yet whole.
///
/// It refuses, as NIO's decoder does, a frame whose payload is longer than `maxPayload` (before
/// reading it) and a control frame that is fragmented or longer than 125 bytes. The work is linear
/// in the bytes received: a partial frame's bytes are kept in one buffer that grows in place.
struct ClientFrameReader {
    enum Refusal: Error, Equatable {
        /// The frame's payload is longer than `maxPayload`.
        case tooLarge
        /// A control frame without `FIN`.
        case fragmentedControlFrame
        /// A control frame longer than 125 bytes.
        case longControlFrame
    }

    let maxPayload: Int
    /// The bytes of a frame not yet whole (nil between frames).
    private var pending: ByteBuffer?

    init(maxPayload: Int) {
        self.maxPayload = maxPayload
    }

    /// Bytes as they arrived.
    mutating func append(_ bytes: ByteBuffer) {
        guard var pending = self.pending.take() else {
            self.pending = bytes
            return
        }
        var bytes = bytes
        pending.writeBuffer(&bytes)
        self.pending = pending
    }

    /// The next whole frame, with its payload as sent (masked); nil until one is whole.
    mutating func next() throws(Refusal) -> WebSocketFrame? {
        guard var buffer = self.pending.take() else { return nil }
        defer { self.pending = buffer.readableBytes > 0 ? buffer : nil }
        guard let (first, second) = buffer.getMultipleIntegers(at: buffer.readerIndex, as: (UInt8, UInt8).self) else { return nil }
        let isControl = first & 0x08 != 0
        var length = Int(second & 0x7F)
        if isControl {
            guard first & 0x80 != 0 else { throw .fragmentedControlFrame }
            guard length <= 125 else { throw .longControlFrame }
        }
        var headerBytes = 2
        switch length {
        case 126:
            guard let extended = buffer.getInteger(at: buffer.readerIndex + 2, as: UInt16.self) else { return nil }
            length = Int(extended)
            headerBytes += 2
        case 127:
            guard let extended = buffer.getInteger(at: buffer.readerIndex + 2, as: UInt64.self) else { return nil }
            guard extended <= UInt64(self.maxPayload) else { throw .tooLarge }
            length = Int(extended)
            headerBytes += 8
        default:
            break
        }
        guard length <= self.maxPayload else { throw .tooLarge }
        let masked = second & 0x80 != 0
        var maskKey: WebSocketMaskingKey?
        if masked {
            guard let key = buffer.getBytes(at: buffer.readerIndex + headerBytes, length: 4) else { return nil }
            maskKey = WebSocketMaskingKey(key)
            headerBytes += 4
        }
        guard buffer.readableBytes >= headerBytes + length else { return nil }
        buffer.moveReaderIndex(forwardBy: headerBytes)
        let payload = buffer.readSlice(length: length)!
        return WebSocketFrame(
            fin: first & 0x80 != 0, rsv1: first & 0x40 != 0, rsv2: first & 0x20 != 0, rsv3: first & 0x10 != 0,
            opcode: WebSocketOpcode(encodedWebSocketOpcode: first & 0x0F)!, maskKey: maskKey, data: payload
        )
    }
}
