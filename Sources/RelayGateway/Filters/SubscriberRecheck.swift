import RelayHTTP

/// A filter that checks again, when a reload brings a new config, the subscribers that are open
/// on its routes: the new config's filter judges each connection the old one let in, and a
/// connection it refuses is ended at once (a WebSocket with 1008 and the reason, an event stream
/// with a `close` event). Built-in `auth` refuses a token no longer listed, `cors` an origin no
/// longer allowed, `jwt` a token that no longer verifies; a plugin's filter takes part the same way.
///
/// ```swift
/// extension RequireHeader: SubscriberRecheck {
///     func recheck(_ subscriber: OpenSubscriber) async -> Readmission {
///         subscriber.handshake.headers[self.field] == nil ? .refuse("missing \(self.field)") : .keep
///     }
/// }
/// ```
///
/// Every open subscriber of the filter's routes is checked, one after another, and the reload
/// waits for the verdicts (its summary counts the connections ended): a check that must wait
/// (a signature, a lookup) should be quick.
public protocol SubscriberRecheck: RequestFilter {
    /// Whether `subscriber`, let in under the previous config, would be let in by this filter now.
    func recheck(_ subscriber: OpenSubscriber) async -> Readmission
}

/// A subscriber connection that a reload checks again (``SubscriberRecheck``).
public struct OpenSubscriber: Sendable {
    /// The request that opened it: the WebSocket handshake, or the `events` request.
    public let handshake: Request
    /// The credential it holds now: its handshake's (`Authorization: Bearer`, `?token=`), or
    /// the last token it renewed with.
    public let credential: String?
    /// Who its credential proved it to be, if a filter such as `jwt` said.
    public let identity: RequestIdentity?
    /// The listener it came through.
    public let listener: String
}

/// A filter's verdict on an open subscriber.
public enum Readmission: Sendable {
    /// It stays as it is.
    case keep
    /// It stays with these credentials (new topic rights, a new expiry); if they are for
    /// another user than its own, it is ended.
    case update(RequestIdentity)
    /// It is ended, the client told `reason`.
    case refuse(String)
}
