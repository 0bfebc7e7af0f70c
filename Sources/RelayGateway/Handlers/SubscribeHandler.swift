import Hummingbird
import RelayCore

/// `GET /ws/{client_id}` with a WebSocket upgrade: a known id is accepted (`101`), an unknown one
/// gets `404`. `?envelope=1` and `?since=topic:epoch:offset,...` are read here (400 if malformed). Filters ahead of it run first, so their refusals (401, 403, 429) answer the
/// handshake with their real status.
enum SubscribeHandler {
    static let plugin = HandlerPlugin(name: "subscribe", defaultMethod: .get, requiredParameters: ["client_id"], servesWebSocket: true) {
        environment in
        { request, context in
            guard let text = context.parameters.get("client_id"), let id = ClientID(text) else {
                throw RelayHTTPError(.notFound, "unknown client id")
            }
            try await adoptSharedRegistration(id, environment: environment)
            guard environment.relay.registration(id) != nil else {
                throw RelayHTTPError(.notFound, "unknown client id")
            }
            guard let slot = context.upgrade else {
                if request.headers[.upgrade] != nil {
                    // The connection cannot be read further (the decoder stopped at the upgrade):
                    // say so, and close it after the answer.
                    throw RelayHTTPError(
                        .badRequest,
                        "invalid WebSocket handshake: it must be the first request on its connection and carry Sec-WebSocket-Key and Sec-WebSocket-Version: 13",
                        headers: [.connection: "close"]
                    )
                }
                throw RelayHTTPError(.upgradeRequired, "this route needs a WebSocket upgrade", headers: [.upgrade: "websocket"])
            }
            let query = request.uri.queryParameters
            let options: SubscribeOptions
            do throws(SubscribeOptions.Invalid) {
                options = try SubscribeOptions.parse(
                    envelope: query["envelope"].map(String.init),
                    since: query["since"].map(String.init),
                    maxTopics: environment.settings.maxTopicsPerClient
                )
            } catch {
                throw RelayHTTPError(.badRequest, error.message)
            }
            guard slot.reserveConnectionSlot() else {
                throw RelayHTTPError(.serviceUnavailable, "at capacity: \(slot.connectionSlots?.limit ?? 0) connections; retry later", headers: [.retryAfter: "1"])
            }
            slot.accept(id, options: options)
            return Response(status: .switchingProtocols)
        }
    }
}

/// In a cluster, the shared copy of a registration is the truth: it may come from another node,
/// or have new topics set through another node, or be gone (expired or unregistered elsewhere).
/// While the store is down, a registration this node already knows may still connect.
private func adoptSharedRegistration(_ id: ClientID, environment: HandlerEnvironment) async throws {
    let registrations = environment.registrations
    guard registrations.isShared else { return }
    let shared: SharedRegistration?
    do {
        shared = try await registrations.find(id)
    } catch {
        guard environment.relay.registration(id) != nil else { throw RelayHTTPError.clusterUnavailable(error) }
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
