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
    /// The request that opened it and its listener, for a reload's filters to judge again.
    let handshake: SubscriberHandshake
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
        self.handshake = SubscriberHandshake(handshake)
        self.listener = listener
        self.hub = hub
    }

    /// The credential its handshake presented (`Authorization: Bearer`, `?token=`), if any.
    var credential: String? {
        self.handshake.credential
    }

    public func install(on channel: any Channel, framing: HandoverFraming) throws {
        try self.hub.start(self, on: channel, framing: framing)
    }

    /// Calls `observer` once, when the connection this request opens has ended.
    public func onEnd(_ observer: @escaping @Sendable (SubscriberSummary) -> Void) {
        self.observers.withLock { $0.append(observer) }
    }

    /// The observers, for the connection to call when it ends (the admission is not kept).
    func takeEndObservers() -> [@Sendable (SubscriberSummary) -> Void] {
        self.observers.withLock { observers in
            defer { observers = [] }
            return observers
        }
    }
}

/// What a subscriber connection keeps of the request that opened it, for a reload's filters
/// (``OpenSubscriber/handshake``): its head without the fields that only frame a handshake
/// (``framingFields``), in four fields. Kept for the connection's life, so kept small: the
/// handshake as it came, with its `Request`, would cost an idle WebSocket some 1.4 KB.
struct SubscriberHandshake: Sendable {
    let method: HTTPRequest.Method
    /// The path with its query.
    let target: String
    let authority: String?
    let headers: HTTPFields

    /// What only frames a handshake: nothing a filter judges.
    static let framingFields: Set<HTTPField.Name> = [
        .connection, .upgrade, .secWebSocketKey, .secWebSocketVersion, .secWebSocketExtensions, .contentLength, .transferEncoding,
    ]

    init(_ request: Request) {
        self.method = request.method
        self.target = String(request.query.map { "\(request.path)?\($0)" } ?? request.path)
        self.authority = request.authority
        self.headers = HTTPFields(request.headers.filter { !Self.framingFields.contains($0.name) })
    }

    /// The request again, for a filter to judge.
    var request: Request {
        Request(method: self.method, target: self.target, authority: self.authority, headers: self.headers)
    }

    var path: Substring {
        self.target.utf8.firstIndex(of: UInt8(ascii: "?")).map { self.target[..<$0] } ?? self.target[...]
    }

    /// The credential it presented (`Authorization: Bearer`, `?token=`), if any.
    var credential: String? {
        AuthFilter.credential(of: self.request, isUpgrade: true)
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
