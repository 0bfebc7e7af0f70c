import NIOCore
import RelayCore
import RelayHTTP

/// `POST /register` with `{"user_id": N}`: creates a registration and answers the URL to
/// subscribe with, `{"url": "ws://HOST:PORT/ws/<id>"}`. A cluster's store is written first.
enum RegisterHandler {
    struct Body: Decodable {
        let user_id: Int

        init(user_id: Int) {
            self.user_id = user_id
        }

        /// From a flat object; nil when `JSONDecoder` must judge.
        init?(_ object: FlatJSONObject) {
            guard case .integer(let userID) = object["user_id"] else { return nil }
            self.init(user_id: userID)
        }
    }

    static let plugin = HandlerPlugin(name: "register", defaultMethod: .post) { environment in
        { request, context in
            let body = try JSONBody.decode(Body.self, from: request, fast: Body.init)
            guard body.user_id >= 0 else {
                throw HTTPError(.badRequest, "\"user_id\" must be an integer ≥ 0")
            }
            let registration = environment.relay.register(userID: body.user_id)
            let url = environment.routes.subscribeURL(for: registration.id)
            let answer = Response.json(.ok, ByteBuffer(string: #"{"url":\#(JSONString.quoted(url))}"#))
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
