import RelayCore

/// One accepted WebSocket, from its upgrade to its end, on its event loop: the one owner of what
/// the connection holds in the relay. It is detached once, when the server starts closing it
/// (so nothing more is delivered to a client that may never read again) or when it ends, and it
/// ends once: counted, its registration store told, and its observers (the `log` filter's close
/// line) called with a summary. Its listener's connection slot is given back when the channel
/// closes (``UpgradeSlot/reserveConnectionSlot(until:)``).
final class SubscriberSession {
    let clientID: ClientID
    let subscriber: WebSocketSubscriber
    let feed: SubscriberFeed
    private let relay: Relay<WebSocketSubscriber>
    private let registrations: any RegistrationStore
    private let metrics: RelayMetrics
    private let slot: UpgradeSlot
    private let started = ContinuousClock.now
    private var detached = false
    private var ended = false

    var outbound: SubscriberOutbound { self.feed.outbound }

    init(
        clientID: ClientID, subscriber: WebSocketSubscriber, feed: SubscriberFeed, relay: Relay<WebSocketSubscriber>,
        registrations: any RegistrationStore, metrics: RelayMetrics, slot: UpgradeSlot
    ) {
        self.clientID = clientID
        self.subscriber = subscriber
        self.feed = feed
        self.relay = relay
        self.registrations = registrations
        self.metrics = metrics
        self.slot = slot
        metrics.connectionsOpened.increment()
    }

    /// Stops the relay delivering to this connection (once).
    func detach() {
        guard !self.detached else { return }
        self.detached = true
        if self.relay.detach(self.subscriber, from: self.clientID) {
            self.registrations.connectionChanged(self.clientID, connection: self.subscriber.token, connected: false)
        }
    }

    /// The connection is gone (once): detached, counted, and its observers told how it went.
    func end() {
        guard !self.ended else { return }
        self.ended = true
        self.detach()
        self.feed.ended()
        let summary = SessionSummary(
            duration: ContinuousClock.now - self.started,
            messagesSent: self.outbound.framesSent,
            messagesDropped: self.outbound.framesDropped,
            closeCause: self.outbound.closeCause
        )
        self.metrics.connectionClosed(summary.closeCause, dropped: summary.messagesDropped)
        self.slot.sessionEnded(summary)
    }
}
