import HTTPTypes
import NIOCore
import Synchronization

/// A WebSocket handshake being decided: the route's filters and handler see it in the request's
/// context. The handler accepts by calling ``accept(_:)`` and answering `101 Switching Protocols`;
/// any other answer refuses the handshake with that answer (its status, headers and body), and
/// the connection closes after it.
///
/// Filters and the handler may share state about the connection-to-be through
/// ``attachment(_:orMake:)``, one object per type.
public final class WebSocketUpgrade: Sendable {
    public typealias Installer = @Sendable (any Channel) throws -> Void

    private struct State {
        var installer: Installer?
        var attachments: [ObjectIdentifier: any Sendable] = [:]
    }

    private let state = Mutex(State())

    init() {}

    /// Accepts the handshake: after the `101` is written, the engine puts a WebSocket frame
    /// decoder (a `ByteToMessageHandler<WebSocketFrameDecoder>`) at the end of the pipeline and
    /// calls `install`, which adds the handlers that read the frames (`WebSocketFrame`s) and
    /// write to the client. A handler that writes encoded frames straight to the client goes
    /// just before the decoder (`.before(decoder)`), never `.first`: on a TLS listener the
    /// transport's handler is in front.
    public func accept(_ install: @escaping Installer) {
        self.state.withLock { $0.installer = install }
    }

    var installer: Installer? {
        self.state.withLock { $0.installer }
    }

    /// The object of type `T` shared by everyone deciding this handshake, made by `make` the
    /// first time it is asked for.
    public func attachment<T: AnyObject & Sendable>(_ type: T.Type, orMake make: () -> T) -> T {
        self.state.withLock { state in
            if let existing = state.attachments[ObjectIdentifier(type)] as? T {
                return existing
            }
            let made = make()
            state.attachments[ObjectIdentifier(type)] = made
            return made
        }
    }

    /// The attachment of type `T`, if someone made one.
    public func attachment<T: AnyObject & Sendable>(_ type: T.Type) -> T? {
        self.state.withLock { $0.attachments[ObjectIdentifier(type)] as? T }
    }
}
