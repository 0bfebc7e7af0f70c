import Foundation
import NIOCore
import RelayHTTP

/// A WebSocket's credentials, on its event loop: the topics they allow, and their expiry, at
/// which the connection is closed with 1008 "token expired" unless the client sent a renewed
/// token first (`{"token": "..."}`).
final class SessionAccess {
    private(set) var identity: RequestIdentity
    private var expiry: Scheduled<Void>?
    private var eventLoop: (any EventLoop)?
    private var onExpiry: (() -> Void)?

    init(_ identity: RequestIdentity) {
        self.identity = identity
    }

    /// Starts the clock: `expire` runs at the credentials' expiry.
    func start(on eventLoop: any EventLoop, expire: @escaping () -> Void) {
        self.eventLoop = eventLoop
        self.onExpiry = expire
        self.schedule()
    }

    /// Takes renewed credentials; false (and nothing changes) when they name another user.
    func renew(with identity: RequestIdentity) -> Bool {
        guard identity.user == self.identity.user else { return false }
        self.identity = identity
        self.schedule()
        return true
    }

    func stop() {
        self.expiry?.cancel()
        self.expiry = nil
        self.onExpiry = nil
    }

    private func schedule() {
        self.expiry?.cancel()
        self.expiry = nil
        guard let eventLoop = self.eventLoop, let expiresAt = self.identity.expiresAt else { return }
        let delay = max(0, expiresAt - Date().timeIntervalSince1970)
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        self.expiry = eventLoop.scheduleTask(in: .milliseconds(Int64((delay * 1000).rounded(.up)))) {
            bound.value.onExpiry?()
        }
    }
}

extension ServerFrame {
    /// `{"notice": "..."}`: something the server did that the client did not ask for.
    static func notice(_ message: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        Self.text(#"{"notice":\#(JSONString.quoted(message))}"#, allocator: allocator)
    }
}
