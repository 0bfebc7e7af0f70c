import Foundation
import NIOCore
import RelayCore
import RelayHTTP

/// Server-Sent Events as the server writes them (`text/event-stream`, the HTML standard's
/// "Server-sent events" section), each event in one buffer, as one HTTP/1.1 chunk when the body is
/// chunked. Written by hand: no package here writes SSE, and it is a few lines of framing.
enum EventStreamFrame {
    /// The `data:` lines of `message`, one per line (split at CRLF, LF or CR, as a reader splits
    /// them, so the reader's data is exactly `message`), then the blank line that ends an event.
    static func data(_ message: String) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(message.utf8.count + 16)
        buffer.writeStaticString("data: ")
        var bytes = message.utf8.makeIterator()
        var afterCR = false
        while let byte = bytes.next() {
            switch byte {
            case UInt8(ascii: "\r"):
                buffer.writeStaticString("\ndata: ")
                afterCR = true
                continue
            case UInt8(ascii: "\n"):
                if !afterCR { buffer.writeStaticString("\ndata: ") }
            default:
                buffer.writeInteger(byte)
            }
            afterCR = false
        }
        buffer.writeStaticString("\n\n")
        return buffer
    }

    /// One event: `id:` and `event:` lines when given, then `data` (from ``data(_:)``).
    static func event(
        id: String?, name: String?, data: ByteBuffer, chunked: Bool, allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) -> ByteBuffer {
        var fields = ""
        if let id { fields += "id: \(id)\n" }
        if let name { fields += "event: \(name)\n" }
        return self.frame(fields, data, chunked: chunked, allocator: allocator)
    }

    /// An event whose data is `value` as JSON (a notice such as `recovered`), named `name`.
    static func notice(
        _ name: String, _ value: some Encodable, id: String?, chunked: Bool, allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) -> ByteBuffer {
        let json = (try? JSONResponse.encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return self.event(id: id, name: name, data: self.data(json), chunked: chunked, allocator: allocator)
    }

    /// A comment line (readers ignore it): keeps proxies from timing out an idle stream.
    static func comment(_ text: String, chunked: Bool, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        self.frame(": \(text)\n\n", ByteBuffer(), chunked: chunked, allocator: allocator)
    }

    /// The last chunk of a chunked body.
    static let lastChunk = ByteBuffer(string: "0\r\n\r\n")

    private static func frame(
        _ fields: String, _ data: ByteBuffer, chunked: Bool, allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) -> ByteBuffer {
        let length = fields.utf8.count + data.readableBytes
        var buffer = allocator.buffer(capacity: length + 12)
        if chunked {
            buffer.writeString(String(length, radix: 16))
            buffer.writeStaticString("\r\n")
        }
        buffer.writeString(fields)
        buffer.writeImmutableBuffer(data)
        if chunked {
            buffer.writeStaticString("\r\n")
        }
        return buffer
    }

    // MARK: Event ids

    /// The id of an event: every topic's position on this stream, `topic:epoch:offset,...` in
    /// topic order (the form `?since=` takes), so `Last-Event-ID` resumes all of them. In a topic,
    /// `%`, `,`, CR, LF and NUL are written `%25`, `%2C`, `%0D`, `%0A`, `%00` (they would end
    /// the id or split it).
    static func id(_ positions: [(topic: String, position: StreamPosition)]) -> String? {
        guard !positions.isEmpty else { return nil }
        return positions.sorted { $0.topic < $1.topic }
            .map { "\(self.escaped($0.topic)):\($0.position.epoch):\($0.position.offset)" }
            .joined(separator: ",")
    }

    private static func escaped(_ topic: String) -> String {
        guard topic.utf8.contains(where: { [0x25, 0x2C, 0x0D, 0x0A, 0x00].contains($0) }) else { return topic }
        var out = ""
        for scalar in topic.unicodeScalars {
            switch scalar {
            case "%": out += "%25"
            case ",": out += "%2C"
            case "\r": out += "%0D"
            case "\n": out += "%0A"
            case "\0": out += "%00"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Reads a `Last-Event-ID` as ``id(_:)`` writes it: split at its commas, then each topic's
    /// escapes undone; each topic at most once.
    static func positions(fromID text: String, maxTopics: Int) throws(SubscribeOptions.Invalid) -> [(topic: String, position: StreamPosition)] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        return try SubscribeOptions.positions(items, maxTopics: maxTopics, named: "Last-Event-ID") { $0.removingPercentEncoding }
    }
}
