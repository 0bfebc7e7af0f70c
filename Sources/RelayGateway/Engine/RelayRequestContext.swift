import Hummingbird
import Logging
import NIOCore
import RelayCore
import Synchronization

/// The request context every route and filter of the gateway sees.
///
/// On the WebSocket upgrade path it also carries an ``UpgradeSlot``: the `subscribe` handler puts
/// the accepted client id there and answers `101`; the channel then performs the upgrade.
public struct RelayRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// The connection the request came on.
    public let channel: any Channel
    /// Present only while deciding a WebSocket upgrade.
    public let upgrade: UpgradeSlot?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.channel = source.channel
        self.upgrade = nil
    }

    init(channel: any Channel, logger: Logger, upgrade: UpgradeSlot) {
        self.coreContext = .init(source: ApplicationRequestContextSource(channel: channel, logger: logger))
        self.remoteAddress = channel.remoteAddress
        self.channel = channel
        self.upgrade = upgrade
    }

    /// The peer's IP address as text (no port), or `"unknown"`.
    public var peerAddress: String {
        self.remoteAddress?.ipAddress ?? "unknown"
    }
}

/// Where the `subscribe` handler leaves the client id it accepted for a WebSocket upgrade, and
/// where filters ask to hear when that WebSocket session ends (the `log` filter's close line).
public final class UpgradeSlot: Sendable {
    private struct State {
        var clientID: ClientID?
        var options = SubscribeOptions()
        var holdsConnectionSlot = false
        var endObservers: [@Sendable (SessionSummary) -> Void] = []
    }

    private let state = Mutex(State())
    /// The listener's `max_connections`, if it has one.
    let connectionSlots: ConnectionSlots?

    init(connectionSlots: ConnectionSlots? = nil) {
        self.connectionSlots = connectionSlots
    }

    /// Takes one of the listener's connection slots for this upgrade; false at capacity.
    func reserveConnectionSlot() -> Bool {
        guard let slots = self.connectionSlots else { return true }
        guard slots.tryAcquire() else { return false }
        self.state.withLock { $0.holdsConnectionSlot = true }
        return true
    }

    /// Whether this upgrade took a connection slot that must be given back.
    var holdsConnectionSlot: Bool {
        self.state.withLock { $0.holdsConnectionSlot }
    }

    /// The client id the upgrade is for, once accepted.
    public var clientID: ClientID? {
        self.state.withLock { $0.clientID }
    }

    /// What the client asked for in its URL (envelope mode, resume positions).
    var options: SubscribeOptions {
        self.state.withLock { $0.options }
    }

    func accept(_ id: ClientID, options: SubscribeOptions = SubscribeOptions()) {
        self.state.withLock { state in
            state.clientID = id
            state.options = options
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
