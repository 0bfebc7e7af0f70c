import NIOCore
import RelayCore
import RelayHTTP

/// A subscriber's credentials, on its event loop: the token it holds now, the identity that token
/// proves (topics allowed, expiry), and the timer that ends the connection at the expiry
/// ("token expired") unless the client sent a renewed token first (`{"token": "..."}`).
final class SubscriberCredentials {
    private(set) var identity: RequestIdentity
    /// The token `identity` came from (the handshake's, or the last renewal's), for a reload to check again.
    private(set) var token: String?
    /// A renewal or a reload's recheck under way: one at a time, so an older answer never wins.
    var checking = false
    private var expiry: ScheduledWork?
    private var eventLoop: (any EventLoop)?
    private var clock: (any GatewayClock)?
    private var onExpiry: (() -> Void)?

    init(_ identity: RequestIdentity, token: String?) {
        self.identity = identity
        self.token = token
    }

    /// Starts the clock: `expire` runs at the credentials' expiry, as `clock` tells it.
    func start(on eventLoop: any EventLoop, clock: any GatewayClock, expire: @escaping () -> Void) {
        self.eventLoop = eventLoop
        self.clock = clock
        self.onExpiry = expire
        self.schedule()
    }

    /// Takes new credentials (`token` proved `identity`); false, and nothing changes, when they
    /// name another user.
    func replace(with identity: RequestIdentity, token: String) -> Bool {
        guard identity.user == self.identity.user else { return false }
        self.identity = identity
        self.token = token
        self.schedule()
        return true
    }

    /// The connection ended: no timer, nothing held.
    func stop() {
        self.expiry?.cancel()
        self.expiry = nil
        self.onExpiry = nil
        self.eventLoop = nil
        self.clock = nil
    }

    private func schedule() {
        self.expiry?.cancel()
        self.expiry = nil
        guard let eventLoop = self.eventLoop, let clock = self.clock, let expiresAt = self.identity.expiresAt else { return }
        // Claims are bounded when read (JWTVerifier), so this fits a Duration in nanoseconds.
        let delay = min(max(0, expiresAt - clock.secondsSince1970), 1e10)
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        self.expiry = clock.schedule(after: .nanoseconds(Int64((delay * 1e9).rounded(.up))), on: eventLoop) {
            bound.value.onExpiry?()
        }
    }
}
