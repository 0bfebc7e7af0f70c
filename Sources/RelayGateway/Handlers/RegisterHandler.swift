import Hummingbird
import RelayCore

/// `POST /register` with `{"user_id": N}`: creates a registration and answers the URL to
/// subscribe with, `{"url": "ws://HOST:PORT/ws/<id>"}`.
enum RegisterHandler {
    struct Body: Decodable {
        let user_id: Int
    }

    static let plugin = HandlerPlugin(name: "register", defaultMethod: .post) { environment in
        { request, _ in
            let body = try await JSONBody.decode(Body.self, from: request, limit: environment.settings.maxMessageBytes)
            guard body.user_id >= 0 else {
                throw RelayHTTPError(.badRequest, "\"user_id\" must be an integer ≥ 0")
            }
            let registration = environment.relay.register(userID: body.user_id)
            do {
                try await environment.registrations.create(
                    SharedRegistration(id: registration.id, userID: registration.userID, topics: registration.topics)
                )
            } catch {
                environment.relay.unregister(registration.id)
                throw RelayHTTPError.clusterUnavailable(error)
            }
            return JSONResponse.make(.ok, ["url": environment.routes.subscribeURL(for: registration.id)])
        }
    }
}
