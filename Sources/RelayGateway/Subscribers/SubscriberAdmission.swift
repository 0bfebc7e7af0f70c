import HTTPTypes
import NIOCore
import RelayCore
import RelayHTTP
import Synchronization

/// A subscriber request the `subscribe` or `events` handler accepted: the value its answer carries
/// (``Response/webSocket(_:headers:)``, ``Response/stream(_:status:headers:)``), which the engine
/// acts on once the head is written (``install(on:framing:)``) by starting the
/// ``SubscriberConnection``. Filters see it on the answer on its way back: the `log` filter asks
/// to hear when the connection ends (``onEnd(_:)``).
public final class SubscriberAdmission: ConnectionHandover {
    let clientID: ClientID
    /// What the client asked for in its URL (envelope mode, resume positions).
    let options: SubscribeOptions
    /// Who the filters found the client to be (its topic rights, its token's expiry).
    let identity: RequestIdentity?
    /// The request that opened it (its head, without the fields that only frame a handshake:
    /// ``framingFields``) and its listener, for a reload's filters to judge again.
    let handshake: Request
    let listener: String
    private let hub: SubscriberHub
    private let observers = Mutex<[@Sendable (SubscriberSummary) -> Void]>([])

    init(
        clientID: ClientID, options: SubscribeOptions, identity: RequestIdentity?, handshake: Request, listener: String,
        hub: SubscriberHub
    ) {
        self.clientID = clientID
        self.options = options
        self.identity = identity
        // Kept for the connection's life: a copy of only what a filter may judge again (the
        // handshake's own fields would cost an idle WebSocket some 1.3 KB).
        self.handshake = Request(
            method: handshake.method, target: String(handshake.query.map { "\(handshake.path)?\($0)" } ?? handshake.path),
            authority: handshake.authority, headers: HTTPFields(handshake.headers.filter { !Self.framingFields.contains($0.name) })
        )
        self.listener = listener
        self.hub = hub
    }

    /// What only frames a handshake: nothing a filter judges.
    static let framingFields: Set<HTTPField.Name> = [
        .connection, .upgrade, .secWebSocketKey, .secWebSocketVersion, .secWebSocketExtensions, .contentLength, .transferEncoding,
    ]

    /// The credential its handshake presented (`Authorization: Bearer`, `?token=`), if any.
    var credential: String? {
        AuthFilter.credential(of: self.handshake, isUpgrade: true)
    }

    public func install(on channel: any Channel, framing: HandoverFraming) throws {
        try self.hub.start(self, on: channel, framing: framing)
    }

    /// Calls `observer` once, when the connection this request opens has ended.
    public func onEnd(_ observer: @escaping @Sendable (SubscriberSummary) -> Void) {
        self.observers.withLock { $0.append(observer) }
    }

    func ended(_ summary: SubscriberSummary) {
        let observers = self.observers.withLock { observers in
            defer { observers = [] }
            return observers
        }
        for observer in observers {
            observer(summary)
        }
    }
}

extension ConnectionSlots {
    /// Takes one of the listener's connection slots for the connection `channel` is to become,
    /// given back when the channel closes (whether or not it became one); at capacity, the
    /// listener's refusal: 503 with `Retry-After`.
    func reserve(until channel: any Channel) throws(HTTPError) {
        guard self.tryAcquire() else {
            throw HTTPError(.serviceUnavailable, "at capacity: \(self.limit) connections; retry later", headers: [.retryAfter: "1"])
        }
        channel.closeFuture.whenComplete { _ in self.release() }
    }
}
