import RelayHTTP

/// Who a request comes from, as a filter that checked its credentials (``JWTFilter``) says, and
/// what they may do. Every later filter and handler reads it from `context.identity`; a
/// plugin's authentication filter sets it the same way.
///
/// The relay's handlers act on it: `register` takes the user from it (and refuses a body
/// `user_id` that differs), and a WebSocket keeps only the topics it allows.
public struct RequestIdentity: Sendable {
    /// The user the credentials name, when it is a user id (an integer ≥ 0); nil otherwise.
    public var userID: Int?
    /// The user as the credentials name it (a JWT's `sub`), also when it is not a user id (a
    /// backend's token: `"sub": "billing"`); nil when they name none. `register` and `subscribe`
    /// refuse (403) a user that is not a user id.
    public var user: String?
    /// The topics it may subscribe to.
    public var topics: TopicRights
    /// When the credentials stop being accepted (a JWT's `exp` plus the filter's `leeway`), in
    /// seconds since 1970; nil when they do not expire. A WebSocket
    /// opened with them is closed then (1008 "token expired") unless renewed first.
    public var expiresAt: Double?
    /// The credentials' claims (a JWT's payload), for filters and handlers after the one that
    /// checked them.
    public var claims: [String: JSONValue]
    /// Checks a new credential the client sends on its WebSocket (`{"token": "..."}`) and gives
    /// the identity it proves; nil when this identity cannot be renewed that way.
    public var renew: (@Sendable (String) async throws(HTTPError) -> RequestIdentity)?

    public init(
        userID: Int?, user: String? = nil, topics: TopicRights = .any, expiresAt: Double? = nil, claims: [String: JSONValue] = [:],
        renew: (@Sendable (String) async throws(HTTPError) -> RequestIdentity)? = nil
    ) {
        self.userID = userID
        self.user = user ?? userID.map(String.init)
        self.topics = topics
        self.expiresAt = expiresAt
        self.claims = claims
        self.renew = renew
    }
}

/// The topics an identity may subscribe to: any, or those listed, where a name ending in `*` is
/// a prefix (`chat.*` allows `chat.1` and `chat.x.y`; `*` alone allows every topic).
public struct TopicRights: Sendable, Equatable {
    private let exact: Set<String>
    private let prefixes: [String]
    private let anyTopic: Bool

    public static let any = TopicRights(anyTopic: true)

    public init(_ patterns: [String]) {
        self.exact = Set(patterns.filter { !$0.hasSuffix("*") })
        self.prefixes = patterns.filter { $0.hasSuffix("*") }.map { String($0.dropLast()) }
        self.anyTopic = self.prefixes.contains("")
    }

    private init(anyTopic: Bool) {
        self.exact = []
        self.prefixes = []
        self.anyTopic = anyTopic
    }

    public func allows(_ topic: String) -> Bool {
        self.anyTopic || self.exact.contains(topic) || self.prefixes.contains { topic.hasPrefix($0) }
    }

    /// Those of `topics` it does not allow, sorted.
    public func refused<Topics: Sequence<String>>(_ topics: Topics) -> [String] {
        topics.filter { !self.allows($0) }.sorted()
    }
}

private enum IdentityKey: RequestAttributeKey {
    typealias Value = RequestIdentity
}

extension RequestIdentity {
    /// The user id, for handlers that act for a user (`register`, `subscribe`, `unregister`):
    /// 403 when the credentials name no user, or one that is not a user id, so that a token
    /// never lets its holder act for a user the body names.
    public func requireUserID() throws(HTTPError) -> Int {
        guard self.user != nil else {
            throw HTTPError(.forbidden, "the token names no user")
        }
        guard let id = self.userID else {
            throw HTTPError(.forbidden, "the token's user is not a user id (an integer ≥ 0)")
        }
        return id
    }
}

extension RequestContext {
    /// Who the request comes from, once a filter has said (``RequestIdentity``); nil before.
    public var identity: RequestIdentity? {
        get { self.attributes[IdentityKey.self] }
        set { self.attributes[IdentityKey.self] = newValue }
    }
}
