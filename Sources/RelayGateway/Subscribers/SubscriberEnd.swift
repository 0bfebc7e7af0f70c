import NIOWebSocket

/// Why the server ends a subscriber connection: what it is counted as, the reason the client is
/// told (a WebSocket close frame's reason, an event stream's `close` event), and the RFC 6455 close
/// code a WebSocket gets for it.
struct SubscriberEnd: Sendable {
    let cause: RelayMetrics.CloseCause
    let reason: String
    let code: WebSocketErrorCode

    static let unregistered = SubscriberEnd(cause: .unregistered, reason: "unregistered", code: .normalClosure)
    static let replaced = SubscriberEnd(cause: .replaced, reason: "replaced by a new connection", code: .normalClosure)
    static let unknownClient = SubscriberEnd(cause: .unregistered, reason: "unknown client id", code: .policyViolation)
    static let shutdown = SubscriberEnd(cause: .shutdown, reason: "server shutting down", code: .goingAway)
    static let listenerRemoved = SubscriberEnd(cause: .listenerRemoved, reason: "listener removed", code: .goingAway)
    static let pingTimeout = SubscriberEnd(cause: .pingTimeout, reason: "ping timeout", code: .goingAway)
    static let slowConsumer = SubscriberEnd(cause: .slowConsumer, reason: "slow consumer", code: .policyViolation)
    static let tokenExpired = SubscriberEnd(cause: .tokenExpired, reason: "token expired", code: .policyViolation)

    /// A reload's config, or the client's new token, no longer lets it in.
    static func credentialsRevoked(_ reason: String) -> SubscriberEnd {
        SubscriberEnd(cause: .credentialsRevoked, reason: reason, code: .policyViolation)
    }

    /// The client broke its protocol's rules (RFC 6455 gives the code).
    static func protocolError(_ code: WebSocketErrorCode, _ reason: String) -> SubscriberEnd {
        SubscriberEnd(cause: .protocolError, reason: reason, code: code)
    }
}
