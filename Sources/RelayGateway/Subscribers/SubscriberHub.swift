import Logging
import NIOCore
import RelayConfig
import RelayCore
import RelayHTTP

/// What every subscriber connection of a gateway shares, made once (and again by a reload, for the
/// connections opened after it): the relay and its stores, the `relay:` limits a connection
/// keeps for its life, the metrics and the registry of open connections. A connection holds one
/// reference to it.
public final class SubscriberHub: Sendable {
    let relay: Relay<SubscriberConnection>
    let registrations: any RegistrationStore
    let history: TopicHistory<PublishedMessage>?
    let envelopes: ClientDemand
    /// How many event streams are open (publishes encode their `data:` lines once while any is).
    let eventStreams: ClientDemand
    let logger: Logger
    let metrics: RelayMetrics
    /// Every open subscriber connection, for a reload to check again (shared by every hub of the gateway).
    let open: OpenSubscribers
    let settings: RelaySettings
    /// What token expiry and keepalive are timed with.
    let clock: any GatewayClock
    /// `settings`' flush window as the event loop counts it, converted once.
    let flushWindow: TimeAmount
    let pingInterval: Duration?
    let pingTimeout: Duration

    init(
        relay: Relay<SubscriberConnection>, registrations: any RegistrationStore, history: TopicHistory<PublishedMessage>?,
        envelopes: ClientDemand, eventStreams: ClientDemand, logger: Logger, metrics: RelayMetrics, open: OpenSubscribers = OpenSubscribers(),
        clock: any GatewayClock, settings: RelaySettings
    ) {
        self.relay = relay
        self.registrations = registrations
        self.history = history
        self.envelopes = envelopes
        self.eventStreams = eventStreams
        self.logger = logger
        self.metrics = metrics
        self.open = open
        self.settings = settings
        self.clock = clock
        self.flushWindow = TimeAmount(settings.flushWindow)
        self.pingInterval = settings.pingInterval > .zero ? settings.pingInterval : nil
        self.pingTimeout = settings.pingTimeout
    }

    /// The same hub with a reload's `relay:` settings, for the connections opened from now on.
    func with(settings: RelaySettings) -> SubscriberHub {
        SubscriberHub(
            relay: self.relay, registrations: self.registrations, history: self.history, envelopes: self.envelopes,
            eventStreams: self.eventStreams, logger: self.logger, metrics: self.metrics, open: self.open, clock: self.clock,
            settings: settings
        )
    }

    func slowConsumer(_ clientID: ClientID, policy: SlowConsumerPolicy) {
        self.logger.warning("slow consumer", metadata: ["client": "\(clientID.masked)", "policy": "\(policy.rawValue)"])
    }

    // MARK: Starting a connection

    /// Turns an accepted subscriber request into a live connection on `channel`, once the answer's
    /// head is written: its transport at the end of the pipeline, then attached to the relay.
    func start(_ admission: SubscriberAdmission, on channel: any Channel, framing: HandoverFraming) throws {
        let transport: any SubscriberTransport & ChannelHandler =
            switch framing {
            case .webSocket: WebSocketTransport(maxMessageBytes: self.settings.maxMessageBytes)
            case .chunked: EventStreamTransport(chunked: true)
            case .untilClose: EventStreamTransport(chunked: false)
            }
        let connection = SubscriberConnection(admission: admission, transport: transport, hub: self, eventLoop: channel.eventLoop)
        transport.connection = connection
        try channel.pipeline.syncOperations.addHandler(transport)
        self.open.opened(connection)
        try self.attach(connection, admission, on: channel)
    }

    /// What every connection's start ends with, on the event loop: its topics narrowed to what its
    /// token allows, then attached to the relay, then the replay, the `subscribed` notices and
    /// the messages kept while it was away, before anything live.
    private func attach(_ connection: SubscriberConnection, _ admission: SubscriberAdmission, on channel: any Channel) throws {
        let clientID = connection.clientID
        let identity = admission.identity
        let logger = self.logger
        if admission.options.envelope {
            connection.enableEnvelopes()
        }
        // Before it is attached, so no message of a topic its token does not allow reaches it.
        guard let dropped = self.keepAllowedTopics(of: clientID, rights: identity?.topics) else {
            return connection.end(.credentialsRevoked("topics the token does not allow could not be dropped"), afterQueued: false)
        }
        try channel.syncOptions?.setOption(.writeBufferWaterMark, value: .init(low: 32 * 1024, high: 64 * 1024))
        // On the event loop from here to the end: live messages for this client queue up behind
        // the replay and the messages kept while it was away, which therefore go first.
        var parked: [PublishedMessage] = []
        let metrics = self.metrics
        guard
            let registration = self.relay.attach(
                connection, to: clientID,
                deliverParked: { messages, dropped in
                    parked = identity.map { identity in messages.filter { identity.topics.allows($0.topic) } } ?? messages
                    if dropped > 0 {
                        metrics.droppedWhileAway(dropped)
                        logger.warning("messages dropped while away", metadata: ["client": "\(clientID.masked)", "dropped": "\(dropped)"])
                    }
                })
        else {
            return connection.end(.unknownClient, afterQueued: false)
        }
        self.registrations.connectionChanged(clientID, connection: connection.token, connected: true)
        if !dropped.isEmpty {
            connection.tell("topics not allowed by the token, dropped: \(dropped.joined(separator: ", "))", isError: false)
        }
        let since = admission.options.since
        connection.resume(since, topics: registration.topics, userID: registration.userID)
        connection.announce(registration.topics.subtracting(since.map(\.topic)))
        for message in parked {
            connection.receive(message)
        }
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
