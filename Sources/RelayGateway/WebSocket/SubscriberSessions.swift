import Logging
import NIOCore
import NIOWebSocket
import RelayConfig
import RelayCore
import RelayHTTP

/// Turns an upgraded channel into a live subscriber: builds its pipeline and attaches it to the relay.
struct SubscriberSessions: Sendable {
    let relay: Relay<WebSocketSubscriber>
    let registrations: any RegistrationStore
    let history: TopicHistory<PublishedMessage>?
    let envelopes: EnvelopeDemand
    /// For the sessions it starts (a reload's new ones for those opened after it).
    var settings: RelaySettings
    let logger: Logger
    /// Every WebSocket this gateway has open, for a reload to recheck.
    let open = OpenWebSockets()
    let metrics: RelayMetrics

    /// - Parameters:
    ///   - listener: its name, and `handshake` the request that opened it: a reload checks them
    ///     against its new filters (``OpenWebSockets``).
    func start(on channel: any Channel, upgrade: UpgradeSlot, listener: String, handshake: Request) throws {
        guard let clientID = upgrade.clientID else { return }
        let pipeline = channel.pipeline.syncOperations
        let outbound = SubscriberOutbound(
            capacity: self.settings.sendQueue, byteCapacity: self.settings.sendQueueBytes, policy: self.settings.slowConsumer,
            flushWindow: TimeAmount(self.settings.flushWindow)
        )
        let logger = self.logger
        outbound.onSlowConsumer = { policy in
            logger.warning("slow consumer", metadata: ["client": "\(clientID.masked)", "policy": "\(policy.rawValue)"])
        }
        // Nearest the socket, but behind the transport (TLS): just before the frame decoder.
        let frameDecoder = try pipeline.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self)
        try pipeline.addHandler(outbound, position: .before(frameDecoder))
        self.open.opened(outbound, on: channel, listener: listener, handshake: handshake)
        let feed = SubscriberFeed(outbound: outbound, envelopes: self.envelopes)
        let options = upgrade.options
        if options.envelope {
            feed.enableEnvelopes()
        }
        let session = SubscriberSession(
            clientID: clientID, subscriber: WebSocketSubscriber(feed: feed, eventLoop: channel.eventLoop), feed: feed,
            relay: self.relay, registrations: self.registrations, metrics: self.metrics, slot: upgrade
        )
        outbound.onClosing = session.detach
        try pipeline.addHandler(
            ClientFrameHandler(
                session: session,
                relay: self.relay,
                registrations: self.registrations,
                history: self.history,
                maxMessageBytes: self.settings.maxMessageBytes,
                keepalive: .init(
                    interval: self.settings.pingInterval > .zero ? TimeAmount(self.settings.pingInterval) : nil,
                    timeout: TimeAmount(self.settings.pingTimeout)
                ),
                identity: upgrade.identity
            )
        )
        try channel.syncOptions?.setOption(.writeBufferWaterMark, value: .init(low: 32 * 1024, high: 64 * 1024))
        // On the event loop from here to the end: live messages for this client queue up behind
        // the replay and the messages kept while it was away, which therefore go first.
        var parked: [PublishedMessage] = []
        let metrics = self.metrics
        guard
            let attached = self.relay.attach(session.subscriber, to: clientID, deliverParked: { messages, dropped in
                parked = messages
                if dropped > 0 {
                    metrics.droppedWhileAway(dropped)
                    logger.warning("messages dropped while away", metadata: ["client": "\(clientID.masked)", "dropped": "\(dropped)"])
                }
            })
        else {
            return outbound.close(code: .policyViolation, reason: "unknown client id", cause: .unregistered, afterQueued: false)
        }
        self.registrations.connectionChanged(clientID, connection: session.subscriber.token, connected: true)
        let registration = self.keepAllowedTopics(of: attached, identity: upgrade.identity, outbound: outbound, allocator: channel.allocator)
        feed.resume(options.since, topics: registration.topics, userID: registration.userID, history: self.history)
        feed.announce(registration.topics.subtracting(options.since.map(\.topic)), history: self.history)
        for message in parked {
            feed.receive(message)
        }
    }

    /// A registration whose topics its connection's token does not all allow keeps only those it
    /// does, and the client is told which were dropped.
    private func keepAllowedTopics(
        of registration: Registration<WebSocketSubscriber>, identity: RequestIdentity?, outbound: SubscriberOutbound, allocator: ByteBufferAllocator
    ) -> Registration<WebSocketSubscriber> {
        guard let rights = identity?.topics else { return registration }
        let refused = rights.refused(registration.topics)
        guard !refused.isEmpty, (try? self.relay.setTopics(registration.topics.filter(rights.allows).sorted(), for: registration.id)) == true,
            let kept = self.relay.registration(registration.id)
        else { return registration }
        self.registrations.topicsChanged(registration.id, to: kept.topics)
        outbound.send(ServerFrame.notice("topics not allowed by the token, dropped: \(refused.joined(separator: ", "))", allocator: allocator))
        return kept
    }
}
