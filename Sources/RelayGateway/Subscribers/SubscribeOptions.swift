import RelayCore

/// What a subscriber asks for in its WebSocket URL, beyond its client id:
/// `?envelope=1` for envelope frames, and `?since=topic:epoch:offset[,...]` to resume.
struct SubscribeOptions: Sendable, Equatable {
    var envelope = false
    /// Positions to resume from, in the order given.
    var since: [(topic: String, position: StreamPosition)] = []

    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.envelope == rhs.envelope && lhs.since.elementsEqual(rhs.since) { $0.topic == $1.topic && $0.position == $1.position }
    }

    struct Invalid: Error, Equatable {
        let message: String
    }

    /// Reads the decoded `envelope` query value and the `since` list (``Request/queryList(_:)``);
    /// resuming implies envelope mode.
    static func parse(envelope: String?, since: [String]?, maxTopics: Int) throws(Invalid) -> SubscribeOptions {
        var options = SubscribeOptions()
        if let envelope {
            switch envelope.lowercased() {
            case "1", "true", "yes", "": options.envelope = true
            case "0", "false", "no": options.envelope = false
            default: throw Invalid(message: #""envelope" must be 1 or 0"#)
            }
        }
        if let since, !since.isEmpty {
            options.since = try self.positions(since, maxTopics: maxTopics, named: "since")
            options.envelope = true
        }
        return options
    }

    /// One position per item (``position(_:)``), its topic read by `topic` (nil: malformed), each
    /// topic at most once: a topic named twice would be replayed twice.
    static func positions(
        _ items: [String], maxTopics: Int, named field: String, topic decode: (String) -> String? = { $0 }
    ) throws(Invalid) -> [(topic: String, position: StreamPosition)] {
        guard items.count <= maxTopics else {
            throw Invalid(message: #""\#(field)" names \#(items.count) topics, more than max_topics_per_client (\#(maxTopics))"#)
        }
        var positions: [(topic: String, position: StreamPosition)] = []
        var topics: Set<String> = []
        for item in items {
            var position = try self.position(item, named: field)
            guard let topic = decode(position.topic) else {
                throw Invalid(message: #""\#(field)" has a topic that is not percent-encoded text"#)
            }
            position.topic = topic
            guard topics.insert(position.topic).inserted else {
                throw Invalid(message: #""\#(field)" names topic "\#(position.topic.prefix(64))" more than once"#)
            }
            positions.append(position)
        }
        return positions
    }

    /// `topic:epoch:offset`, split from the right so a topic may contain `:`.
    static func position(_ text: String, named field: String) throws(Invalid) -> (topic: String, position: StreamPosition) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 3, let offset = UInt64(parts[parts.count - 1]) else {
            throw Invalid(message: #""\#(field)" must be topic:epoch:offset[,...], e.g. cats:9f2c41d0:42"#)
        }
        let topic = parts[..<(parts.count - 2)].joined(separator: ":")
        guard !topic.isEmpty else {
            throw Invalid(message: #""\#(field)" has an empty topic"#)
        }
        return (topic, StreamPosition(epoch: String(parts[parts.count - 2]), offset: offset))
    }
}
