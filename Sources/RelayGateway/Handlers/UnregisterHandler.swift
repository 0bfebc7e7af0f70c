import Hummingbird
import RelayCore

/// `DELETE /register/{client_id}`: forgets the registration and closes its live connection.
enum UnregisterHandler {
    static let plugin = HandlerPlugin(name: "unregister", defaultMethod: .delete, requiredParameters: ["client_id"]) { environment in
        { _, context in
            guard let text = context.parameters.get("client_id"), let id = ClientID(text) else {
                throw RelayHTTPError(.notFound, "unknown client id")
            }
            let shared: Bool
            do {
                // In a cluster, wherever its connection is, that node closes it.
                shared = try await environment.registrations.remove(id)
            } catch {
                throw RelayHTTPError.clusterUnavailable(error)
            }
            guard environment.relay.unregister(id) || shared else {
                throw RelayHTTPError(.notFound, "unknown client id")
            }
            return JSONResponse.make(.ok, ["status": "unregistered"])
        }
    }
}
