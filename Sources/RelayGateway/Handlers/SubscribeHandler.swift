import RelayCore
import RelayHTTP

/// `GET /ws/{client_id}` with a WebSocket handshake: a known id is accepted (`101`), an unknown one
/// gets `404`, a plain `GET` `426`. `?envelope=1` and `?since=topic:epoch:offset,...` are read
/// here (400 if malformed). Filters ahead of it run first, so their refusals (401, 403, 429)
/// answer the handshake with their real status. With an identity (a `jwt` filter), the id must be
/// registered to its user (else 403), and the connection keeps only the topics it allows.
enum SubscribeHandler {
    static let plugin = HandlerPlugin(name: "subscribe", defaultMethod: .get, requiredParameters: ["client_id"], servesWebSocket: true) {
        environment in
        { request, context in
            try subscriberAnswer(to: request, context: context, environment: environment, accept: Self.accept)
        }
    }

    @Sendable private static func accept(
        _ id: ClientID, request: Request, context: RequestContext, environment: HandlerEnvironment
    ) throws -> Response {
        guard let registration = environment.relay.registration(id) else {
            throw HTTPError(.notFound, "unknown client id")
        }
        if let identity = context.identity, try identity.requireUserID() != registration.userID {
            throw HTTPError(.forbidden, "this client id is registered to another user than the token's")
        }
        guard context.isWebSocketHandshake else {
            throw HTTPError(.upgradeRequired, "this route needs a WebSocket upgrade", headers: [.upgrade: "websocket"])
        }
        let options: SubscribeOptions
        do throws(SubscribeOptions.Invalid) {
            options = try SubscribeOptions.parse(
                envelope: request.queryValue("envelope"),
                since: request.queryList("since"),
                maxTopics: environment.settings.maxTopicsPerClient
            )
        } catch {
            throw HTTPError(.badRequest, error.message)
        }
        return .webSocket(try environment.admit(id, options: options, request: request, context: context))
    }
}

extension HandlerEnvironment {
    /// A subscriber request accepted: it takes one of the listener's connection slots (503 at
    /// capacity), and the connection it opens keeps what a reload checks again.
    func admit(_ id: ClientID, options: SubscribeOptions, request: Request, context: RequestContext) throws(HTTPError) -> SubscriberAdmission {
        try self.connectionSlots?.reserve(until: context.channel)
        return SubscriberAdmission(
            clientID: id, options: options, identity: context.identity, handshake: request, listener: self.listenerName, hub: self.subscribers
        )
    }
}

/// What the subscriber handlers (`subscribe`, `events`) share: the path's client id (404 if it is
/// none), the shared registration adopted first in a cluster, then `accept`'s answer.
func subscriberAnswer(
    to request: Request, context: RequestContext, environment: HandlerEnvironment,
    accept: @escaping @Sendable (ClientID, Request, RequestContext, HandlerEnvironment) throws -> Response
) throws -> Reply {
    guard let text = request.parameters.get("client_id"), let id = ClientID(text) else {
        throw HTTPError(.notFound, "unknown client id")
    }
    guard environment.registrations.isShared else {
        return .now(try accept(id, request, context, environment))
    }
    return .async(on: context.eventLoop) {
        try await adoptSharedRegistration(id, environment: environment)
        return try accept(id, request, context, environment)
    }
}

/// In a cluster, the shared copy of a registration is the truth: it may come from another node,
/// or have new topics set through another node, or be gone (expired or unregistered elsewhere).
/// While the store is down, a registration this node already knows may still connect.
private func adoptSharedRegistration(_ id: ClientID, environment: HandlerEnvironment) async throws {
    let registrations = environment.registrations
    let shared: SharedRegistration?
    do {
        shared = try await registrations.find(id)
    } catch {
        guard environment.relay.registration(id) != nil else { throw HTTPError.clusterUnavailable(error) }
        return
    }
    guard let shared else {
        environment.relay.unregister(id)
        return
    }
    environment.relay.adopt(shared)
    // An unregister that arrived between reading the store and adopting must still win.
    if environment.recentUnregisters.contains(id) {
        environment.relay.unregister(id)
    }
}
