import HTTPTypes
import NIOCore
import NIOHTTP1

/// Serialises an answer's status line and header fields, and a small body, into one buffer: one
/// write per answer. Written by hand because NIO's `HTTPResponseEncoder` re-checks and re-frames
/// every answer the connection has already framed, and takes three writes (head, body, end);
/// what is written here is only what the engine produced, never what a client sent, and
/// swift-http-types has already refused names and values that are not legal on the wire.
enum ResponseWriter {
    /// Bodies up to this size share the head's buffer; bigger ones follow it as their own write.
    static let inlineBodyBytes = 16 * 1024

    /// The head of `status` with `fields`, then `Content-Length` (unless the status has no body),
    /// `Date`, and `Connection` when given.
    static func head(
        version: HTTPVersion, status: HTTPResponse.Status, fields: HTTPFields, contentLength: Int?, connection: String?,
        reserving extra: Int, allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 160 + fields.count * 48 + extra)
        buffer.writeStaticString(version.minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        Self.writeDecimal(status.code, to: &buffer)
        buffer.writeStaticString(" ")
        buffer.writeString(status.reasonPhrase)
        buffer.writeStaticString("\r\n")
        for field in fields {
            buffer.writeString(field.name.rawName)
            buffer.writeStaticString(": ")
            buffer.writeString(field.value)
            buffer.writeStaticString("\r\n")
        }
        if let contentLength {
            buffer.writeStaticString("Content-Length: ")
            Self.writeDecimal(contentLength, to: &buffer)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("Date: ")
        buffer.writeString(HTTPDate.now)
        buffer.writeStaticString("\r\n")
        if let connection {
            buffer.writeStaticString("Connection: ")
            buffer.writeString(connection)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
        return buffer
    }

    static func writeDecimal(_ value: Int, to buffer: inout ByteBuffer) {
        guard value >= 10 else {
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(value))
            return
        }
        Self.writeDecimal(value / 10, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "0") + UInt8(value % 10))
    }
}
