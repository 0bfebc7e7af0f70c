import NIOCore
import NIOWebSocket

/// WebSocket frames as the server sends them (RFC 6455 §5.2: unmasked, unfragmented), encoded
/// straight into one buffer so a publish encodes its frame once and every recipient shares it.
enum ServerFrame {
    static func text(_ payload: some Collection<UInt8>, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        self.encode(opcode: .text, payload: payload, allocator: allocator)
    }

    static func text(_ payload: String, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        self.encode(opcode: .text, payload: payload.utf8, allocator: allocator)
    }

    static func pong(_ payload: ByteBuffer, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        self.encode(opcode: .pong, payload: payload.readableBytesView, allocator: allocator)
    }

    /// A close frame: two bytes of status code and a UTF-8 reason (at most 123 bytes).
    static func close(code: WebSocketErrorCode, reason: String, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var payload: [UInt8] = []
        let raw = UInt16(webSocketErrorCode: code)
        payload.append(UInt8(raw >> 8))
        payload.append(UInt8(raw & 0xFF))
        payload.append(contentsOf: reason.utf8.prefix(123))
        return self.encode(opcode: .connectionClose, payload: payload, allocator: allocator)
    }

    static func encode(opcode: WebSocketOpcode, payload: some Collection<UInt8>, allocator: ByteBufferAllocator) -> ByteBuffer {
        let length = payload.count
        var buffer = allocator.buffer(capacity: length + 10)
        buffer.writeInteger(UInt8(0x80) | UInt8(webSocketOpcode: opcode))
        switch length {
        case 0...125:
            buffer.writeInteger(UInt8(length))
        case 126...Int(UInt16.max):
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(length))
        default:
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(length))
        }
        buffer.writeBytes(payload)
        return buffer
    }
}
