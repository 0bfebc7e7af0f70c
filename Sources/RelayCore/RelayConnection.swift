/// Why the relay closes a client's live connection.
public enum CloseReason: Sendable, Equatable {
    /// The registration was deleted (`unregister`).
    case unregistered
    /// A newer connection with the same client id took over.
    case replaced
}

/// One live connection of a registered client, as the relay core sees it.
///
/// The core never touches sockets: it hands each recipient the message a publish produced and lets
/// the connection queue it. Implementations must not block; `send` is called outside the core's
/// locks, possibly from several threads, and each connection keeps its messages in call order.
public protocol RelayConnection: AnyObject, Sendable {
    /// What a publish hands to every recipient (encoded once, shared by all).
    associatedtype Message: Sendable

    /// Queues one message for this connection.
    func send(_ message: Message)

    /// Closes the connection from the server side.
    func close(_ reason: CloseReason)

    /// Hands one message to all recipients of a publish. The default sends to each in turn;
    /// a networked connection type can group recipients (e.g. by event loop) to hop less.
    static func deliver(_ message: Message, to recipients: [Self])
}

extension RelayConnection {
    public static func deliver(_ message: Message, to recipients: [Self]) {
        for connection in recipients {
            connection.send(message)
        }
    }
}
