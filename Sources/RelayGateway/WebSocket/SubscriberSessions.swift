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
    let envelopes: ClientDemand
    /// How many event streams are open (publishes encode their `data:` lines once while any is).
    let eventStreams: ClientDemand
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
        let outbound = self.makeOutbound(for: clientID, transport: .webSocket)
        // Nearest the socket, but behind the transport (TLS): just before the frame decoder.
        let frameDecoder = try pipeline.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self)
        try pipeline.addHandler(outbound, position: .before(frameDecoder))
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
        let identity = upgrade.identity
        let frames = ClientFrameHandler(
            session: session,
            relay: self.relay,
            registrations: self.registrations,
            history: self.history,
            maxMessageBytes: self.settings.maxMessageBytes,
            keepalive: .init(
                interval: self.settings.pingInterval > .zero ? TimeAmount(self.settings.pingInterval) : nil,
                timeout: TimeAmount(self.settings.pingTimeout)
            ),
            identity: identity,
            token: identity == nil ? nil : AuthFilter.credential(of: handshake, isUpgrade: true)
        )
        try pipeline.addHandler(frames)
        self.open.opened(outbound, frames: frames, on: channel, listener: listener, handshake: handshake)
        try self.attach(session, on: channel, options: upgrade.options, identity: identity)
    }

    /// What every subscriber's start ends with, on the event loop: its topics narrowed to what its
    /// token allows, then attached to the relay, then the replay, the `subscribed` notices and
    /// the messages kept while it was away, before anything live.
    func attach(_ session: SubscriberSession, on channel: any Channel, options: SubscribeOptions, identity: RequestIdentity?) throws {
        let clientID = session.clientID
        let outbound = session.outbound
        let feed = session.feed
        let logger = self.logger
        // Before it is attached, so no message of a topic its token does not allow reaches it.
        guard let dropped = self.keepAllowedTopics(of: clientID, rights: identity?.topics) else {
            return outbound.close(
                code: .policyViolation, reason: "topics the token does not allow could not be dropped", cause: .credentialsRevoked, afterQueued: false
            )
        }
        try channel.syncOptions?.setOption(.writeBufferWaterMark, value: .init(low: 32 * 1024, high: 64 * 1024))
        // On the event loop from here to the end: live messages for this client queue up behind
        // the replay and the messages kept while it was away, which therefore go first.
        var parked: [PublishedMessage] = []
        let metrics = self.metrics
        guard
            let registration = self.relay.attach(
                session.subscriber, to: clientID,
                deliverParked: { messages, dropped in
                    parked = identity.map { identity in messages.filter { identity.topics.allows($0.topic) } } ?? messages
                    if dropped > 0 {
                        metrics.droppedWhileAway(dropped)
                        logger.warning("messages dropped while away", metadata: ["client": "\(clientID.masked)", "dropped": "\(dropped)"])
                    }
                })
        else {
            return outbound.close(code: .policyViolation, reason: "unknown client id", cause: .unregistered, afterQueued: false)
        }
        self.registrations.connectionChanged(clientID, connection: session.subscriber.token, connected: true)
        if !dropped.isEmpty {
            feed.tell("topics not allowed by the token, dropped: \(dropped.joined(separator: ", "))", isError: false)
        }
        feed.resume(options.since, topics: registration.topics, userID: registration.userID, history: self.history)
        feed.announce(registration.topics.subtracting(options.since.map(\.topic)), history: self.history)
        for message in parked {
            feed.receive(message)
        }
    }

    /// A subscriber's send queue, with this gateway's limits and slow-consumer policy.
    func makeOutbound(for clientID: ClientID, transport: SubscriberOutbound.Transport) -> SubscriberOutbound {
        let outbound = SubscriberOutbound(
            capacity: self.settings.sendQueue, byteCapacity: self.settings.sendQueueBytes, policy: self.settings.slowConsumer,
            flushWindow: TimeAmount(self.settings.flushWindow), transport: transport
        )
        let logger = self.logger
        outbound.onSlowConsumer = { policy in
            logger.warning("slow consumer", metadata: ["client": "\(clientID.masked)", "policy": "\(policy.rawValue)"])
        }
        return outbound
    }

    /// A registration whose topics its connection's token does not all allow keeps only those it
    /// does; returns those dropped (for the client to be told), nil when they could not be.
    private func keepAllowedTopics(of id: ClientID, rights: TopicRights?) -> [String]? {
        guard let rights, let registration = self.relay.registration(id) else { return [] }
        let refused = rights.refused(registration.topics)
        guard !refused.isEmpty else { return [] }
        guard (try? self.relay.setTopics(registration.topics.filter(rights.allows).sorted(), for: id)) == true,
            let kept = self.relay.registration(id)
        else { return nil }
        self.registrations.topicsChanged(id, to: kept.topics)
        return refused
    }
}
