import NIOCore
import RelayCore
import RelayHTTP

/// `POST /publish`, in three shapes:
/// - `{"topic": "cats", "user_id": 1 (optional), "message": "...", "id": "..." (optional)}`: sends
///   `message` as one text frame to every connected subscriber of the topic (of that user, if
///   given) and answers `{"recipients": N}`, with `"offset": n` (its place in the topic's history)
///   when history is on;
/// - `{"topics": ["a", "b"], "message": "...", ...}`: the same message to each topic (encoded once);
/// - `{"messages": [{"topic", "user_id"?, "message", "id"?}, ...]}`: a batch, in order.
///
/// The last two answer `{"recipients": TOTAL, "results": [...]}`, one result per message in order.
/// At most `relay.max_batch` messages per request (else 413), and the whole body is checked before
/// anything is delivered. A message with an `id` its topic saw within `relay.idempotency_window`
/// is not delivered again: its result says `"duplicate": true`. On a single node it is answered on
/// the event loop at once; a cluster's bus is waited for (a batch is one append).
enum PublishHandler {
    /// One message as a body or an item of `messages`.
    struct Item: Decodable {
        let topic: String
        let user_id: Int?
        let message: String
        let id: String?

        init(topic: String, user_id: Int?, message: String, id: String?) {
            self.topic = topic
            self.user_id = user_id
            self.message = message
            self.id = id
        }

        /// The body from a flat object; nil when `JSONDecoder` must judge (a field missing or of
        /// another type, or a shape of many messages).
        init?(_ object: FlatJSONObject) {
            guard case .string(let topic) = object["topic"], case .string(let message) = object["message"] else { return nil }
            let id: String?
            switch object["id"] {
            case nil, .null?: id = nil
            case .string(let text)?: id = text
            case .integer?: return nil
            }
            switch object["user_id"] {
            case nil, .null?: self.init(topic: topic, user_id: nil, message: message, id: id)
            case .integer(let userID)?: self.init(topic: topic, user_id: userID, message: message, id: id)
            case .string?: return nil
            }
        }
    }

    /// Any of the three shapes, as `JSONDecoder` reads it; ``shape(_:settings:)`` says which it is.
    struct Body: Decodable {
        let topic: String?
        let topics: [String]?
        let messages: [Item]?
        let user_id: Int?
        let message: String?
        let id: String?
    }

    /// What a body asks for, checked whole.
    enum Shape {
        case one(Item)
        case many([PublishRequest])
    }

    /// The longest `id`, in bytes of UTF-8.
    static let maxIDBytes = 128

    static let plugin = HandlerPlugin(name: "publish", defaultMethod: .post) { environment in
        let settings = environment.settings
        let rules = TopicRules(maxTopicsPerClient: settings.maxTopicsPerClient, maxTopicLength: settings.maxTopicLength)
        return { request, context in
            switch try Self.read(request, rules: rules, maxBatch: settings.maxBatch) {
            case .one(let item) where item.id == nil:
                return environment.publish(topic: item.topic, userID: item.user_id, message: item.message, on: context.eventLoop)
            case .one(let item):
                let batch = [PublishRequest(topic: item.topic, userID: item.user_id, message: item.message, id: item.id)]
                return environment.publish(batch, on: context.eventLoop) { receipts in HandlerEnvironment.receiptAnswer(receipts[0]) }
            case .many(let batch):
                return environment.publish(batch, on: context.eventLoop)
            }
        }
    }

    /// Reads and checks the whole body: a thrown ``HTTPError`` is the answer, and then nothing was published.
    static func read(_ request: Request, rules: TopicRules, maxBatch: Int) throws -> Shape {
        // The commonest body, read by hand; anything else goes to `JSONDecoder`.
        if let item = Item(body: request.body) {
            try Self.check(item, rules: rules, at: "")
            return .one(item)
        }
        let body = try JSONBody.decode(Body.self, from: request)
        if let messages = body.messages {
            guard body.topic == nil, body.topics == nil, body.message == nil, body.user_id == nil, body.id == nil else {
                throw HTTPError(.badRequest, #""messages" takes no "topic", "topics", "message", "user_id" or "id" beside it: give them per message"#)
            }
            guard !messages.isEmpty else { throw HTTPError(.badRequest, #""messages" is empty"#) }
            try Self.checkSize(messages.count, of: "messages", maxBatch: maxBatch)
            return .many(
                try messages.enumerated().map { index, item in
                    try Self.check(item, rules: rules, at: "messages[\(index)].")
                    return PublishRequest(topic: item.topic, userID: item.user_id, message: item.message, id: item.id)
                }
            )
        }
        guard let message = body.message else {
            throw HTTPError(.badRequest, body.topic == nil && body.topics == nil ? #"missing "topic""# : #"missing "message""#)
        }
        if let topics = body.topics {
            guard body.topic == nil else { throw HTTPError(.badRequest, #"give "topic" or "topics", not both"#) }
            guard !topics.isEmpty else { throw HTTPError(.badRequest, #""topics" is empty"#) }
            try Self.checkSize(topics.count, of: "topics", maxBatch: maxBatch)
            var seen = Set<String>()
            for (index, topic) in topics.enumerated() {
                guard seen.insert(topic).inserted else {
                    throw HTTPError(.badRequest, #""topics" names "# + JSONString.quoted(topic) + " twice")
                }
                try Self.check(Item(topic: topic, user_id: body.user_id, message: message, id: body.id), rules: rules, at: "topics[\(index)]")
            }
            return .many(topics.map { PublishRequest(topic: $0, userID: body.user_id, message: message, id: body.id) })
        }
        guard let topic = body.topic else { throw HTTPError(.badRequest, #"missing "topic""#) }
        let item = Item(topic: topic, user_id: body.user_id, message: message, id: body.id)
        try Self.check(item, rules: rules, at: "")
        return .one(item)
    }

    private static func checkSize(_ count: Int, of key: String, maxBatch: Int) throws {
        guard count <= maxBatch else {
            throw HTTPError(.contentTooLarge, "a publish carries at most \(maxBatch) messages (max_batch); \"\(key)\" has \(count)")
        }
    }

    /// `path`: where the item is in the body, for the error (`messages[3].`, `topics[1]`, or "").
    private static func check(_ item: Item, rules: TopicRules, at path: String) throws {
        let prefix = path.hasSuffix(".") ? path : ""
        if let userID = item.user_id, userID < 0 {
            throw HTTPError(.badRequest, "\"\(prefix)user_id\" must be an integer ≥ 0")
        }
        if let id = item.id, id.isEmpty || id.utf8.count > Self.maxIDBytes {
            throw HTTPError(.badRequest, "\"\(prefix)id\" must be a string of 1 to \(Self.maxIDBytes) bytes")
        }
        do throws(TopicRules.Violation) {
            try rules.validate(topic: item.topic)
        } catch {
            let place = path.isEmpty ? "" : path.hasSuffix(".") ? "\(path)topic: " : "\(path): "
            throw HTTPError(.badRequest, place + error.description)
        }
    }
}
