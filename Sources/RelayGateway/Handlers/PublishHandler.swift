import Hummingbird
import RelayCore

/// `POST /publish` with `{"topic": "cats", "user_id": 1 (optional), "message": "..."}`: sends
/// `message` as one text frame to every connected subscriber of the topic (of that user, if
/// given) and answers `{"recipients": N}`, with `"offset": n` (its place in the topic's history)
/// when history is on.
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
        let rules = environment.relay.settings.topicRules
        return { request, context in
            let body = try await JSONBody.decode(Body.self, from: request, limit: environment.settings.maxMessageBytes, fast: Body.init)
            if let userID = body.user_id, userID < 0 {
                throw RelayHTTPError(.badRequest, "\"user_id\" must be an integer ≥ 0")
            }
            do throws(TopicRules.Violation) {
                _ = try rules.validate([body.topic])
            } catch {
                throw RelayHTTPError(.badRequest, error.description)
            }
            let start = ContinuousClock.now
            let receipt: PublishReceipt
            do {
                receipt = try await environment.bus.publish(topic: body.topic, userID: body.user_id, message: body.message)
            } catch {
                throw RelayHTTPError.clusterUnavailable(error)
            }
            environment.metrics.recordPublishEnqueue(ContinuousClock.now - start)
            environment.metrics.published(recipients: receipt.recipients)
            // Written by hand: the hot path's answer, too simple for a JSONEncoder.
            let offset = receipt.position.map { #","offset":\#($0.offset)"# } ?? ""
            return JSONResponse.make(.ok, rawJSON: ByteBuffer(string: #"{"recipients":\#(receipt.recipients)\#(offset)}"#))
        }
    }
}
