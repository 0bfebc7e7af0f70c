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

    /// Reads the decoded `envelope` and `since` query values; resuming implies envelope mode.
    static func parse(envelope: String?, since: String?, maxTopics: Int) throws(Invalid) -> SubscribeOptions {
        var options = SubscribeOptions()
        if let envelope {
            switch envelope.lowercased() {
            case "1", "true", "yes", "": options.envelope = true
            case "0", "false", "no": options.envelope = false
            default: throw Invalid(message: #""envelope" must be 1 or 0"#)
            }
        }
        if let since, !since.isEmpty {
            let items = since.split(separator: ",", omittingEmptySubsequences: false)
            guard items.count <= maxTopics else {
                throw Invalid(message: #""since" names \#(items.count) topics, more than max_topics_per_client (\#(maxTopics))"#)
            }
            for item in items {
                options.since.append(try self.position(String(item)))
            }
            options.envelope = true
        }
        return options
    }

    /// `topic:epoch:offset`, split from the right so a topic may contain `:`.
    static func position(_ text: String) throws(Invalid) -> (topic: String, position: StreamPosition) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 3, let offset = UInt64(parts[parts.count - 1]) else {
            throw Invalid(message: #""since" must be topic:epoch:offset[,...], e.g. cats:9f2c41d0:42"#)
        }
        let topic = parts[..<(parts.count - 2)].joined(separator: ":")
        guard !topic.isEmpty else {
            throw Invalid(message: #""since" has an empty topic"#)
        }
        return (topic, StreamPosition(epoch: String(parts[parts.count - 2]), offset: offset))
    }
}
