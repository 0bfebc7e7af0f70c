import RelayGateway

/// `handler: webhook` on `POST /hooks/{topic}`: the raw request body (any UTF-8 text: a JSON
/// event, a line of text) is published as one message to topic `{topic}`, and the answer is
/// `{"recipients": N}` (with `"offset": n` when history is on), as `publish` answers. An empty
/// or non-UTF-8 body, or a topic the `relay:` limits refuse, is a 400.
///
/// The topic is the path segment as sent (not percent-decoded). Put an `hmac_signature` filter
/// on the route: the handler trusts whoever reaches it.
public enum WebhookHandler {
    public static let plugin = HandlerPlugin(name: "webhook", defaultMethod: .post, requiredParameters: ["topic"]) { environment in
        let settings = environment.settings
        let rules = TopicRules(maxTopicsPerClient: settings.maxTopicsPerClient, maxTopicLength: settings.maxTopicLength)
        return { request, context in
            let topic = request.parameters.get("topic") ?? ""
            do throws(TopicRules.Violation) {
                _ = try rules.validate([topic])
            } catch {
                throw HTTPError(.badRequest, error.description)
            }
            // As `publish` does it: counted in the gateway's metrics, answered with the receipt.
            return environment.publish(topic: topic, userID: nil, message: try Self.message(of: request), on: context.eventLoop)
        }
    }

    /// The body as the message: not empty, and UTF-8 (subscribers get it as a text frame).
    static func message(of request: Request) throws -> String {
        guard request.body.readableBytes > 0 else {
            throw HTTPError(.badRequest, "empty body: the body is the message to publish")
        }
        guard let text = String(validating: request.body.readableBytesView, as: UTF8.self) else {
            throw HTTPError(.badRequest, "body must be UTF-8 text")
        }
        return text
    }
}
