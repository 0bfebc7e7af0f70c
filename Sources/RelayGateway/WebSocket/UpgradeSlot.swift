import NIOCore
import RelayCore
import RelayHTTP
import Synchronization

/// What the relay knows of one WebSocket handshake, attached to the engine's `WebSocketUpgrade`
/// (`upgrade.attachment(UpgradeSlot.self)`): the client id the `subscribe` handler accepted, its
/// options, its connection slot, and who wants to hear when the session ends (the `log`
/// filter's close line).
public final class UpgradeSlot: Sendable {
    private struct State {
        var clientID: ClientID?
        var options = SubscribeOptions()
        var identity: RequestIdentity?
        var endObservers: [@Sendable (SessionSummary) -> Void] = []
    }

    private let state = Mutex(State())
    /// The listener's `max_connections`, if it has one.
    let connectionSlots: ConnectionSlots?

    init(connectionSlots: ConnectionSlots? = nil) {
        self.connectionSlots = connectionSlots
    }

    /// Takes one of the listener's connection slots for this upgrade, given back when `channel`
    /// closes (whether or not it was upgraded); false at capacity.
    func reserveConnectionSlot(until channel: any Channel) -> Bool {
        guard let slots = self.connectionSlots else { return true }
        guard slots.tryAcquire() else { return false }
        channel.closeFuture.whenComplete { _ in slots.release() }
        return true
    }

    /// ``reserveConnectionSlot(until:)``, or the listener's refusal: 503 with `Retry-After`.
    func reserveConnectionSlotOrRefuse(until channel: any Channel) throws(HTTPError) {
        guard self.reserveConnectionSlot(until: channel) else {
            throw HTTPError(
                .serviceUnavailable, "at capacity: \(self.connectionSlots?.limit ?? 0) connections; retry later", headers: [.retryAfter: "1"]
            )
        }
    }

    /// The client id the upgrade is for, once accepted.
    public var clientID: ClientID? {
        self.state.withLock { $0.clientID }
    }

    /// What the client asked for in its URL (envelope mode, resume positions).
    var options: SubscribeOptions {
        self.state.withLock { $0.options }
    }

    /// Who the filters found the client to be (its topic rights, its token's expiry).
    var identity: RequestIdentity? {
        self.state.withLock { $0.identity }
    }

    func accept(_ id: ClientID, options: SubscribeOptions = SubscribeOptions(), identity: RequestIdentity? = nil) {
        self.state.withLock { state in
            state.clientID = id
            state.options = options
            state.identity = identity
        }
    }

    /// Calls `observer` once when the WebSocket session that this upgrade starts has ended.
    public func onSessionEnd(_ observer: @escaping @Sendable (SessionSummary) -> Void) {
        self.state.withLock { $0.endObservers.append(observer) }
    }

    func sessionEnded(_ summary: SessionSummary) {
        let observers = self.state.withLock { state in
            defer { state.endObservers = [] }
            return state.endObservers
        }
        for observer in observers {
            observer(summary)
        }
    }
}

/// How a WebSocket session went, reported when it ends.
public struct SessionSummary: Sendable {
    public let duration: Duration
    public let messagesSent: Int
    public let messagesDropped: Int
    let closeCause: RelayMetrics.CloseCause
}
