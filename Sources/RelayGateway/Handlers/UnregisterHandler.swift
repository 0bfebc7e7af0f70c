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
            if let identity = context.identity {
                let user = try identity.requireUserID()
                if let registration = environment.relay.registration(id), registration.userID != user {
                    throw HTTPError(.forbidden, "this client id is registered to another user than the token's")
                }
            }
            let registrations = environment.registrations
            guard registrations.isShared else {
                return .now(try Self.forget(id, sharedKnewIt: false, environment: environment))
            }
            return .async(on: context.eventLoop) {
                let shared: Bool
                do {
                    shared = try await registrations.remove(id)
                } catch {
                    throw HTTPError.clusterUnavailable(error)
                }
                return try Self.forget(id, sharedKnewIt: shared, environment: environment)
            }
        }
    }

    private static func forget(_ id: ClientID, sharedKnewIt: Bool, environment: HandlerEnvironment) throws -> Response {
        guard environment.relay.unregister(id) || sharedKnewIt else {
            throw HTTPError(.notFound, "unknown client id")
        }
        return Response.json(.ok, ByteBuffer(string: #"{"status":"unregistered"}"#))
    }
}
