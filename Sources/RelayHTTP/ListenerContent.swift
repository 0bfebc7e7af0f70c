import NIOSSL
import Synchronization

/// What a running listener serves, replaceable while it runs (a config reload): requests read
/// after ``replace(router:tls:)`` go through the new router, connections accepted after it use
/// the new TLS context (nil: plain HTTP). Requests and connections already under way keep what
/// they started with.
public final class ListenerContent: Sendable {
    private struct State: Sendable {
        var router: Router
        var tls: NIOSSLContext?
    }

    private let state: Mutex<State>

    public init(router: Router, tls: NIOSSLContext? = nil) {
        self.state = Mutex(State(router: router, tls: tls))
    }

    public var router: Router { self.state.withLock { $0.router } }
    public var tls: NIOSSLContext? { self.state.withLock { $0.tls } }

    public func replace(router: Router, tls: NIOSSLContext?) {
        self.state.withLock { $0 = State(router: router, tls: tls) }
    }
}
