import NIOCore
import RelayCore
import RelayHTTP

/// `DELETE /register/{client_id}`: forgets the registration and closes its live connection. In a
/// cluster the store is told first, and the node holding the connection closes it. Behind a
/// `jwt` filter, only the token's user may unregister its registrations.
enum UnregisterHandler {
    static let plugin = HandlerPlugin(name: "unregister", defaultMethod: .delete, requiredParameters: ["client_id"]) { environment in
        { request, context in
            guard let text = request.parameters.get("client_id"), let id = ClientID(text) else {
                throw HTTPError(.notFound, "unknown client id")
            }
            // Behind a token, only its user's registrations (another's is 403).
            let user = try context.identity.map { identity throws(HTTPError) in try identity.requireUserID() }
            let registrations = environment.registrations
            guard registrations.isShared else {
                if let user, let registration = environment.relay.registration(id) {
                    try Self.refuse(registration.userID, for: user)
                }
                return .now(try Self.forget(id, sharedKnewIt: false, environment: environment))
            }
            return .async(on: context.eventLoop) {
                let shared: Bool
                do {
                    // The store knows whose it is, also when this node never saw it.
                    if let user, let registration = try await registrations.find(id) {
                        try Self.refuse(registration.userID, for: user)
                    }
                    shared = try await registrations.remove(id)
                } catch let error as HTTPError {
                    throw error
                } catch {
                    throw HTTPError.clusterUnavailable(error)
                }
                return try Self.forget(id, sharedKnewIt: shared, environment: environment)
            }
        }
    }

    private static func refuse(_ owner: Int, for user: Int) throws(HTTPError) {
        guard owner == user else {
            throw HTTPError(.forbidden, "this client id is registered to another user than the token's")
        }
    }

    private static func forget(_ id: ClientID, sharedKnewIt: Bool, environment: HandlerEnvironment) throws -> Response {
        let knewItHere = environment.relay.unregister(id)
        // In a cluster the store is the truth: a copy here that the store no longer has is one
        // whose unregister (through another node) is still on its way over the bus.
        guard environment.registrations.isShared ? sharedKnewIt : knewItHere else {
            throw HTTPError(.notFound, "unknown client id")
        }
        return Response.json(.ok, ByteBuffer(string: #"{"status":"unregistered"}"#))
    }
}
