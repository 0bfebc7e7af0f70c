import NIOCore

/// What a connection becomes once its answer's head is written: a handler answers with a
/// ``Response`` that carries one (``Response/webSocket(_:headers:)`` for a WebSocket handshake,
/// ``Response/stream(_:status:headers:)`` for a streamed body), and the engine acts on it. Any
/// other answer to a WebSocket handshake refuses it, and the connection closes after it.
///
/// The value is the handler's own type: filters that ran in front of the handler see it on the
/// answer on its way back (a log filter, say, to hear when the connection ends).
public protocol ConnectionHandover: Sendable {
    /// Called on the event loop once the head is written; installs the handlers that serve the
    /// connection from then on, which own it (they close it). The engine's HTTP handlers leave
    /// the pipeline right after.
    ///
    /// What the client sends from then on (what it sent behind its head included) reaches the
    /// installed handlers raw (`ByteBuffer`s), and what they write goes out as it is:
    /// - `.webSocket`: RFC 6455 frames both ways, which the installed handlers read and write;
    /// - `.chunked`, `.untilClose`: the body's writes, framed as it says.
    func install(on channel: any Channel, framing: HandoverFraming) throws
}

/// How the connection's bytes are framed after the head.
public enum HandoverFraming: Sendable, Equatable {
    /// RFC 6455 frames.
    case webSocket
    /// HTTP/1.1: each write is one chunk (`SIZE\r\n...\r\n`), and `0\r\n\r\n` ends the body.
    case chunked
    /// HTTP/1.0: bytes as they are; closing the connection ends the body.
    case untilClose
}
