import NIOCore
import RelayCore
import RelayHTTP

/// `POST /publish` with `{"topic": "cats", "user_id": 1 (optional), "message": "..."}`: sends
/// `message` as one text frame to every connected subscriber of the topic (of that user, if
/// given) and answers `{"recipients": N}`, with `"offset": n` (its place in the topic's history)
/// when history is on. On a single node it is answered on the event loop at once; a cluster's
/// bus is waited for.
enum PublishHandler {
    struct Body: Decodable {
        let topic: String
        let user_id: Int?
        let message: String

        init(topic: String, user_id: Int?, message: String) {
            self.topic = topic
            self.user_id = user_id
            self.message = message
        }

        /// The body from a flat object; nil when `JSONDecoder` must judge (a field missing or of
        /// another type).
        init?(_ object: FlatJSONObject) {
            guard case .string(let topic) = object["topic"], case .string(let message) = object["message"] else { return nil }
            switch object["user_id"] {
            case nil, .null?: self.init(topic: topic, user_id: nil, message: message)
            case .integer(let userID)?: self.init(topic: topic, user_id: userID, message: message)
            case .string?: return nil
            }
        }
    }

    static let plugin = HandlerPlugin(name: "publish", defaultMethod: .post) { environment in
        let settings = environment.settings
        let rules = TopicRules(maxTopicsPerClient: settings.maxTopicsPerClient, maxTopicLength: settings.maxTopicLength)
        return { request, context in
            let body = try JSONBody.decode(Body.self, from: request, fast: Body.init)
            if let userID = body.user_id, userID < 0 {
                throw HTTPError(.badRequest, "\"user_id\" must be an integer ≥ 0")
            }
            do throws(TopicRules.Violation) {
                _ = try rules.validate([body.topic])
            } catch {
                throw HTTPError(.badRequest, error.description)
            }
            return environment.publish(topic: body.topic, userID: body.user_id, message: body.message, on: context.eventLoop)
        }
    }
}
