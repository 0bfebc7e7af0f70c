import Hummingbird
import RelayCore

/// `DELETE /register/{client_id}`: forgets the registration and closes its live connection.
enum UnregisterHandler {
    static let plugin = HandlerPlugin(name: "unregister", defaultMethod: .delete, requiredParameters: ["client_id"]) { environment in
        { _, context in
            guard let text = context.parameters.get("client_id"), let id = ClientID(text), environment.relay.unregister(id) else {
                throw RelayHTTPError(.notFound, "unknown client id")
            }
            return JSONResponse.make(.ok, ["status": "unregistered"])
        }
    }
}
