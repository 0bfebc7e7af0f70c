import NIOCore
import NIOSSL
import Synchronization

/// What a running listener serves, replaceable while it runs (a config reload): requests read
/// after ``replace(router:tls:limits:)`` go through the new router, connections accepted after
/// it use the new TLS context (nil: plain HTTP) and limits (nil: the server's configuration).
/// Requests and connections already under way keep what they started with.
public final class ListenerContent: Sendable {
    private struct State: Sendable {
        var router: Router
        var tls: NIOSSLContext?
        var limits: ConnectionLimits?
    }

    private let state: Mutex<State>

    public init(router: Router, tls: NIOSSLContext? = nil, limits: ConnectionLimits? = nil) {
        self.state = Mutex(State(router: router, tls: tls, limits: limits))
    }

    public var router: Router { self.state.withLock { $0.router } }
    var connection: (tls: NIOSSLContext?, limits: ConnectionLimits?) { self.state.withLock { ($0.tls, $0.limits) } }

    public func replace(router: Router, tls: NIOSSLContext?, limits: ConnectionLimits?) {
        self.state.withLock { $0 = State(router: router, tls: tls, limits: limits) }
    }
}

/// The limits an HTTP connection is held to, fixed when it is accepted.
public struct ConnectionLimits: Sendable, Equatable {
    /// The first request head, and each request's body after its head, must arrive within this.
    public var handshakeTimeout: TimeAmount
    /// An idle keep-alive connection is closed after this; nil: never.
    public var idleTimeout: TimeAmount?
    /// Bigger request bodies are answered 413.
    public var maxBodyBytes: Int
    /// The largest WebSocket frame accepted once upgraded.
    public var maxFrameSize: Int

    public init(handshakeTimeout: TimeAmount, idleTimeout: TimeAmount?, maxBodyBytes: Int, maxFrameSize: Int) {
        self.handshakeTimeout = handshakeTimeout
        self.idleTimeout = idleTimeout
        self.maxBodyBytes = maxBodyBytes
        self.maxFrameSize = maxFrameSize
    }

    /// The limits `configuration` gives its connections.
    init(_ configuration: HTTPServer.Configuration) {
        self.init(
            handshakeTimeout: configuration.handshakeTimeout, idleTimeout: configuration.idleTimeout,
            maxBodyBytes: configuration.maxBodyBytes, maxFrameSize: configuration.maxFrameSize
        )
    }
}
