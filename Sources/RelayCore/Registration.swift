/// What the relay knows of one registered client: its user, its topics and, while it is
/// connected, its live connection.
public struct Registration<Connection: RelayConnection>: Sendable {
    public let id: ClientID
    public let userID: Int
    public internal(set) var topics: Set<String>
    public internal(set) var connection: Connection?
    /// When the last connection ended (or the registration was made); `nil` while connected.
    public internal(set) var idleSince: ContinuousClock.Instant?

    public var isConnected: Bool { self.connection != nil }
}
