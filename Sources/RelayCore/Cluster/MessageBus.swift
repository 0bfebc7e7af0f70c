/// What a publish reached.
public struct PublishReceipt: Sendable, Equatable {
    /// Connected subscribers it went to (on every node, in a cluster).
    public var recipients: Int
    /// Its place in its topic's stream, when the relay keeps one (history on, or a cluster).
    /// For a duplicate, the place of the first copy when it is known.
    public var position: StreamPosition?
    /// The publish repeated an idempotency key seen within the window: it was not delivered again.
    public var duplicate: Bool

    public init(recipients: Int, position: StreamPosition?, duplicate: Bool = false) {
        self.recipients = recipients
        self.position = position
        self.duplicate = duplicate
    }
}

/// One message of a publish: to the subscribers of `topic` (of `userID` only, when given).
/// With an `id`, a repeat of the same topic and id within the relay's idempotency window is not
/// delivered again (see ``IdempotencyWindow``).
public struct PublishRequest: Sendable, Equatable {
    public var topic: String
    public var userID: Int?
    public var message: String
    public var id: String?

    public init(topic: String, userID: Int? = nil, message: String, id: String? = nil) {
        self.topic = topic
        self.userID = userID
        self.message = message
        self.id = id
    }
}

/// Carries publishes and control messages to every node, this one included.
///
/// The single-node bus hands a publish straight to the local fan-out; a cluster's bus stores it
/// durably first and every node's follower then hands it to its ``BusReceiver``, in one global order.
public protocol MessageBus: Sendable {
    /// Sends a message to the subscribers of `topic` (only those of `userID`, when given) on
    /// every node. Returns once it is accepted; throws if the bus is unavailable, and then nothing
    /// was accepted.
    func publish(topic: String, userID: Int?, message: String) async throws -> PublishReceipt

    /// The same publish done at once, when this bus needs no waiting (a single node's fan-out);
    /// nil when it must be awaited through ``publish(topic:userID:message:)``, and then nothing
    /// was done.
    func publishImmediately(topic: String, userID: Int?, message: String) -> PublishReceipt?

    /// Publishes `batch` in its order, each message as one publish with its own receipt (in the
    /// same order), repeats of an idempotency key answered as duplicates. Returns once the whole
    /// batch is accepted; throws if the bus is unavailable, and then none of it was accepted.
    func publish(_ batch: [PublishRequest]) async throws -> [PublishReceipt]

    /// The same batch done at once, when this bus needs no waiting; nil when it must be awaited.
    func publishImmediately(_ batch: [PublishRequest]) -> [PublishReceipt]?
}

extension MessageBus {
    public func publishImmediately(topic: String, userID: Int?, message: String) -> PublishReceipt? { nil }
    public func publishImmediately(_ batch: [PublishRequest]) -> [PublishReceipt]? { nil }
}

/// A node's end of a cluster bus: what its follower hands over, in the bus's order.
public protocol BusReceiver: Sendable {
    /// A published message, at its place in the topic's stream. `live` is false for messages
    /// published before this node started, read back only to fill its history: they go to no
    /// connection.
    func deliver(topic: String, userID: Int?, message: String, position: StreamPosition, live: Bool)
    /// `id` was unregistered on some node.
    func unregistered(_ id: ClientID)
    /// A connection of `id` opened on some node. Every node sees these claims in the same order,
    /// so the latest one wins everywhere: a connection whose own claim came earlier is replaced.
    func claimed(_ id: ClientID, connection: UInt64, byThisNode: Bool)
    /// Every message published before this node started that the bus reads back (to fill the
    /// history) has been delivered: from here on a resume finds them. Called once.
    func caughtUp()
}

extension BusReceiver {
    public func caughtUp() {}
}

/// A shared backend for several nodes: the registrations every node can see, the bus every node
/// follows, and the epoch of the cluster's topic streams (stable across node restarts).
public protocol ClusterBackend: Sendable {
    var registrations: any RegistrationStore { get }
    var bus: any MessageBus { get }
    /// The epoch of every topic stream in the cluster.
    var epoch: String { get }
    /// Follows the bus, handing everything published from now on (and, with `replayingSince`,
    /// what was published in that span before) to `receiver` in order, until cancelled. Also does
    /// the backend's housekeeping. Survives the backend going away and coming back.
    func run(delivering receiver: any BusReceiver, replayingSince: Duration) async throws
}
