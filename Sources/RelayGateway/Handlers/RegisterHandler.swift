import NIOCore
import RelayCore
import RelayHTTP

/// `POST /register` with `{"user_id": N}`: creates a registration and answers the URL to
/// subscribe with, `{"url": "ws://HOST:PORT/ws/<id>"}`. A cluster's store is written first.
/// Behind a `jwt` filter the user comes from the token, and the registration starts with only
/// the default topics the token allows.
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

    /// The user to register: the body's `user_id`; behind a token (``RequestIdentity``), the
    /// token's user, and a body may then be empty or name the same one (another is 403; a token
    /// that names no user id is 403 too).
    static func userID(of request: Request, identity: RequestIdentity?) throws -> Int {
        guard let tokenUser = try identity.map({ identity throws(HTTPError) in try identity.requireUserID() }) else {
            let body = try JSONBody.decode(Body.self, from: request, fast: Body.init)
            guard body.user_id >= 0 else {
                throw HTTPError(.badRequest, "\"user_id\" must be an integer ≥ 0")
            }
            return body.user_id
        }
        guard request.body.readableBytes > 0 else { return tokenUser }
        let body = try JSONBody.decode(OptionalUser.self, from: request)
        if let named = body.user_id, named != tokenUser {
            throw HTTPError(.forbidden, "\"user_id\" \(named) is not the user of the token")
        }
        return tokenUser
    }

    /// A body beside a token: `user_id` may be left out.
    struct OptionalUser: Decodable {
        let user_id: Int?
    }

    static let plugin = HandlerPlugin(name: "register", defaultMethod: .post) { environment in
        { request, context in
            let userID = try Self.userID(of: request, identity: context.identity)
            let topics = context.identity?.topics ?? .any
            let registration = environment.relay.register(userID: userID, allowing: topics.allows)
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
