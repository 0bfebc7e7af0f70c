import Synchronization

/// The relay: registrations, their topics and live connections, and fan-out of published messages.
///
/// It knows nothing of networking. The gateway registers clients, attaches a `RelayConnection`
/// when a client's WebSocket opens, and publishes pre-encoded messages:
///
/// ```swift
/// let relay = Relay<MyConnection>(settings: .init())
/// let registration = relay.register(userID: 1)
/// relay.attach(connection, to: registration.id)
/// let recipients = relay.publish(frame, topic: "cats", userID: nil)
/// ```
public final class Relay<Connection: RelayConnection>: Sendable {
    /// How registrations behave.
    public struct Settings: Sendable {
        /// The topics a new registration starts with.
        public var defaultTopics: Set<String>
        /// How long a registration without a live connection is kept; `.zero` keeps it forever.
        public var registrationTTL: Duration
        /// Limits on the topic lists clients ask for.
        public var topicRules: TopicRules
        /// Messages addressed to a user kept per registration while it has no live connection;
        /// 0 keeps none.
        public var parkedMessages: Int
        /// The most bytes kept for disconnected registrations, over all of them.
        public var parkedBytes: Int

        public init(
            defaultTopics: Set<String> = ["cats"], registrationTTL: Duration = .seconds(600), topicRules: TopicRules = TopicRules(),
            parkedMessages: Int = 0, parkedBytes: Int = 64 << 20
        ) {
            self.defaultTopics = defaultTopics
            self.registrationTTL = registrationTTL
            self.topicRules = topicRules
            self.parkedMessages = parkedMessages
            self.parkedBytes = parkedBytes
        }
    }

    /// Counts for health and stats.
    public struct Counts: Sendable, Equatable {
        public var registrations: Int
        public var connections: Int
    }

    private struct State {
        var registrations: [ClientID: Registration<Connection>] = [:]
        var connections = 0
    }

    /// As given at start, or by the last ``update(_:)``.
    public var settings: Settings { self.currentSettings.withLock { $0 } }
    private let currentSettings: Mutex<Settings>
    private let state = Mutex(State())
    // `@usableFromInline`: ``publish(_:topic:userID:bytes:)`` is inlined into the gateway, so
    // the topic lookup is specialised for its connection type (unspecialised generic code cost a
    // publish some 2,500 instructions, callgrind).
    @usableFromInline let index = TopicIndex<Connection>()
    /// Whether messages for users are kept for their disconnected registrations (`parkedMessages`).
    @usableFromInline let parksMessages: Bool
    private let parked: ParkedInboxes<Connection.Message>
    /// What registrations' idle time is measured with.
    public let clock: any GatewayClock

    /// - Parameter clock: measures how long registrations stay unconnected (``expireIdleRegistrations(now:)``).
    public init(settings: Settings, clock: any GatewayClock = SystemClock.system) {
        self.currentSettings = Mutex(settings)
        self.clock = clock
        self.parked = ParkedInboxes(capacity: settings.parkedMessages, maxBytes: settings.parkedBytes)
        self.parksMessages = self.parked.isEnabled
    }

    /// Settings for what comes next (a config reload): registrations made from now on get the new
    /// default topics, topic changes meet the new rules, expiry uses the new TTL. The bounds of
    /// messages kept for disconnected clients (`parkedMessages`, `parkedBytes`) stay as at start.
    public func update(_ settings: Settings) {
        self.currentSettings.withLock { $0 = settings }
    }

    /// Creates a registration for `userID` with the default topics.
    /// - Parameter allowing: which of the default topics it starts with (those its credentials allow).
    public func register(
        userID: Int, allowing allowed: (String) -> Bool = { _ in true }, now: ContinuousClock.Instant? = nil
    ) -> Registration<Connection> {
        let now = now ?? self.clock.now
        let registration = Registration<Connection>(
            id: ClientID.random(),
            userID: userID,
            topics: self.settings.defaultTopics.filter(allowed),
            connection: nil,
            idleSince: now
        )
        self.state.withLock { $0.registrations[registration.id] = registration }
        return registration
    }

    public func registration(_ id: ClientID) -> Registration<Connection>? {
        self.state.withLock { $0.registrations[id] }
    }

    /// Forgets a registration and closes its live connection. Returns `false` for an unknown id.
    @discardableResult
    public func unregister(_ id: ClientID) -> Bool {
        let removed: Registration<Connection>? = self.state.withLock { state in
            guard let registration = state.registrations.removeValue(forKey: id) else { return nil }
            if registration.isConnected {
                state.connections -= 1
                self.index.remove(id: id, userID: registration.userID, from: registration.topics)
            } else {
                self.parked.withUser(registration.userID) { _ = self.parked.unpark(id, in: &$0) }
            }
            return registration
        }
        removed?.connection?.close(.unregistered)
        return removed != nil
    }

    /// Makes `connection` the live connection of `id`; a previous live connection is closed.
    /// Returns `nil` for an unknown id.
    ///
    /// - Parameter deliverParked: called before this returns with the messages addressed to the
    ///   user that were kept while the client was away, and how many were not kept (bounds); the
    ///   caller sends them ahead of anything live.
    @discardableResult
    public func attach(
        _ connection: Connection, to id: ClientID, deliverParked: (_ messages: [Connection.Message], _ dropped: Int) -> Void = { _, _ in }
    ) -> Registration<Connection>? {
        let (registration, replaced, unparked): (Registration<Connection>?, Connection?, ParkedInboxes<Connection.Message>.Unparked?) = self.state
            .withLock { state in
                guard var registration = state.registrations[id] else { return (nil, nil, nil) }
                let previous = registration.connection
                if previous == nil {
                    state.connections += 1
                }
                registration.connection = connection
                registration.idleSince = nil
                state.registrations[id] = registration
                let unparked = self.parked.withUser(registration.userID) { inboxes in
                    self.index.add(connection, id: id, userID: registration.userID, to: registration.topics)
                    return self.parked.unpark(id, in: &inboxes)
                }
                return (registration, previous === connection ? nil : previous, unparked)
            }
        replaced?.close(.replaced)
        if let unparked, !unparked.messages.isEmpty || unparked.dropped > 0 {
            deliverParked(unparked.messages, unparked.dropped)
        }
        return registration
    }

    /// Ends `connection`'s subscription; the registration stays and starts its idle time.
    /// Does nothing if `connection` is no longer the live one (it was replaced or unregistered).
    /// Returns whether it was the live one.
    @discardableResult
    public func detach(_ connection: Connection, from id: ClientID, now: ContinuousClock.Instant? = nil) -> Bool {
        let now = now ?? self.clock.now
        return self.state.withLock { state in
            guard var registration = state.registrations[id], registration.connection === connection else { return false }
            registration.connection = nil
            registration.idleSince = now
            state.registrations[id] = registration
            state.connections -= 1
            self.parked.withUser(registration.userID) { inboxes in
                self.index.remove(id: id, userID: registration.userID, from: registration.topics)
                self.parked.park(id, userID: registration.userID, topics: registration.topics, in: &inboxes)
            }
            return true
        }
    }

    /// Replaces the topics of `id`. Returns `false` for an unknown id; throws if the list breaks the rules.
    @discardableResult
    public func setTopics(_ requested: [String], for id: ClientID) throws(TopicRules.Violation) -> Bool {
        let topics = try self.settings.topicRules.validate(requested)
        return self.state.withLock { state in
            guard var registration = state.registrations[id] else { return false }
            self.replaceTopics(of: &registration, with: topics)
            state.registrations[id] = registration
            return true
        }
    }

    /// Takes in a registration another node created or changed: adds it here, or brings this
    /// node's copy to the shared topics.
    public func adopt(_ shared: SharedRegistration, now: ContinuousClock.Instant? = nil) {
        let now = now ?? self.clock.now
        self.state.withLock { state in
            if var registration = state.registrations[shared.id], registration.userID == shared.userID {
                guard registration.topics != shared.topics else { return }
                self.replaceTopics(of: &registration, with: shared.topics)
                state.registrations[shared.id] = registration
            } else if state.registrations[shared.id] == nil {
                state.registrations[shared.id] = Registration(
                    id: shared.id, userID: shared.userID, topics: shared.topics, connection: nil, idleSince: now
                )
            }
        }
    }

    /// Moves a registration's subscriptions (or parked inbox) to `topics`. Under the state lock.
    private func replaceTopics(of registration: inout Registration<Connection>, with topics: Set<String>) {
        if let connection = registration.connection {
            self.index.remove(id: registration.id, userID: registration.userID, from: registration.topics.subtracting(topics))
            self.index.add(connection, id: registration.id, userID: registration.userID, to: topics.subtracting(registration.topics))
        } else {
            self.parked.setTopics(topics, for: registration.id, userID: registration.userID)
        }
        registration.topics = topics
    }

    /// Hands `message` to every connected client subscribed to `topic` (only those of `userID`
    /// when it is given) and returns how many there were. With `parkedMessages` on, a message for
    /// a user is also kept for that user's disconnected registrations on the topic.
    /// - Parameters:
    ///   - message: made only when someone gets or keeps it (a publish nobody follows encodes nothing).
    ///   - bytes: the message's size, counted against `parkedBytes`.
    @discardableResult
    @inlinable
    public func publish(_ message: @autoclosure () -> Connection.Message, topic: String, userID: Int?, bytes: Int = 0) -> Int {
        if let userID, self.parksMessages {
            return self.publishKeeping(message(), topic: topic, userID: userID, bytes: bytes)
        }
        let recipients = self.index.recipients(topic: topic, userID: userID)
        if !recipients.isEmpty {
            Connection.deliver(message(), to: recipients)
        }
        return recipients.count
    }

    /// A publish to a user while messages are kept: kept for the user's disconnected
    /// registrations on the topic, under the user's inbox lock, then delivered.
    @usableFromInline
    func publishKeeping(_ message: Connection.Message, topic: String, userID: Int, bytes: Int) -> Int {
        let recipients = self.parked.withUser(userID) { inboxes in
            self.parked.keep(message, bytes: bytes, topic: topic, in: &inboxes)
            return self.index.recipients(topic: topic, userID: userID)
        }
        if !recipients.isEmpty {
            Connection.deliver(message, to: recipients)
        }
        return recipients.count
    }

    /// Forgets registrations that have had no live connection for longer than the TTL.
    /// Returns how many expired.
    @discardableResult
    public func expireIdleRegistrations(now: ContinuousClock.Instant? = nil) -> Int {
        guard self.settings.registrationTTL > .zero else { return 0 }
        let now = now ?? self.clock.now
        let deadline = now - self.settings.registrationTTL
        return self.state.withLock { state in
            let expired = state.registrations.values.filter { registration in
                guard let idleSince = registration.idleSince else { return false }
                return idleSince <= deadline
            }
            for registration in expired {
                state.registrations[registration.id] = nil
                self.parked.withUser(registration.userID) { _ = self.parked.unpark(registration.id, in: &$0) }
            }
            return expired.count
        }
    }

    /// Bytes kept for disconnected registrations.
    public var parkedBytes: Int { self.parked.byteCount }

    public var counts: Counts {
        self.state.withLock { Counts(registrations: $0.registrations.count, connections: $0.connections) }
    }

    /// Topics with connected subscribers and how many each has.
    public func topicSubscriberCounts() -> [String: Int] {
        self.index.subscriberCounts()
    }
}
