import RelayCore
import RelayHTTP

/// `POST /register` with `{"user_id": N}`: creates a registration and answers the URL to
/// subscribe with, `{"url": "ws://HOST:PORT/ws/<id>"}`. A cluster's store is written first.
enum RegisterHandler {
    struct Body: Decodable {
        let user_id: Int
    }

    static let plugin = HandlerPlugin(name: "register", defaultMethod: .post) { environment in
        { request, context in
            let body = try JSONBody.decode(Body.self, from: request)
            guard body.user_id >= 0 else {
                throw HTTPError(.badRequest, "\"user_id\" must be an integer ≥ 0")
            }
            let registration = environment.relay.register(userID: body.user_id)
            let answer = JSONResponse.make(.ok, ["url": environment.routes.subscribeURL(for: registration.id)])
            let registrations = environment.registrations
            guard registrations.isShared else { return .now(answer) }
            return .async(on: context.eventLoop) {
                do {
                    try await registrations.create(
                        SharedRegistration(id: registration.id, userID: registration.userID, topics: registration.topics)
                    )
                } catch {
                    environment.relay.unregister(registration.id)
                    throw HTTPError.clusterUnavailable(error)
                }
                return answer
            }
        }
    }
}
