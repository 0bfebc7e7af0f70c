/// A registration as every node of a cluster sees it.
public struct SharedRegistration: Sendable, Equatable {
    public let id: ClientID
    public let userID: Int
    public let topics: Set<String>

    public init(id: ClientID, userID: Int, topics: Set<String>) {
        self.id = id
        self.userID = userID
        self.topics = topics
    }
}

/// Where registrations live beyond this node, so a client registered on one node can connect to
/// another. The relay's own table stays the live copy for this node's connections; the store is
/// told about changes and asked about ids this node has not seen.
///
/// The single-node default is ``LocalRegistrations``: there the relay's table is the only copy.
public protocol RegistrationStore: Sendable {
    /// Whether the store holds every registration of the deployment: then an id it does not know
    /// is unknown, whatever this node remembers.
    var isShared: Bool { get }
    /// Records a new registration; throws if the store is unavailable (the register request fails).
    func create(_ registration: SharedRegistration) async throws
    /// The registration with `id`, or nil if no node knows it.
    func find(_ id: ClientID) async throws -> SharedRegistration?
    /// Forgets `id`; returns whether it was known. In a cluster, the same step tells every node
    /// (through the bus) to close the client's connection, so a failed call can be retried whole.
    func remove(_ id: ClientID) async throws -> Bool
    /// The client's topics changed. Applied in call order, in the background.
    func topicsChanged(_ id: ClientID, to topics: Set<String>)
    /// The client's connection `connection` (a token unique to it) opened (`true`) or closed
    /// (`false`) on this node. Applied in call order, in the background. A cluster also tells
    /// the other nodes, which close an older connection of the same client (see
    /// ``BusReceiver/claimed(_:connection:byThisNode:)``).
    func connectionChanged(_ id: ClientID, connection: UInt64, connected: Bool)
}

/// One node: the relay's own table is the only copy, so there is nothing to share.
public struct LocalRegistrations: RegistrationStore {
    public init() {}
    public var isShared: Bool { false }
    public func create(_ registration: SharedRegistration) async throws {}
    public func find(_ id: ClientID) async throws -> SharedRegistration? { nil }
    public func remove(_ id: ClientID) async throws -> Bool { false }
    public func topicsChanged(_ id: ClientID, to topics: Set<String>) {}
    public func connectionChanged(_ id: ClientID, connection: UInt64, connected: Bool) {}
}
