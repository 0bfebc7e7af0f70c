/// The limits a client's topic list must respect.
public struct TopicRules: Sendable, Equatable {
    public var maxTopicsPerClient: Int
    public var maxTopicLength: Int

    public init(maxTopicsPerClient: Int = 64, maxTopicLength: Int = 256) {
        self.maxTopicsPerClient = maxTopicsPerClient
        self.maxTopicLength = maxTopicLength
    }

    /// A topic list the rules refuse, with a message fit for the client.
    public struct Violation: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// Checks one topic name (a publish's): what ``validate(_:)`` checks of each, without a set.
    public func validate(topic: String) throws(Violation) {
        guard self.maxTopicsPerClient >= 1 else {
            throw Violation(description: "too many topics: 1 (at most \(self.maxTopicsPerClient))")
        }
        if topic.isEmpty {
            throw Violation(description: "topic names must not be empty")
        }
        if topic.utf8.count > self.maxTopicLength {
            throw Violation(description: "topic name too long: \(topic.utf8.count) bytes (at most \(self.maxTopicLength))")
        }
    }

    /// Checks a requested topic list and returns it as a set.
    public func validate(_ topics: [String]) throws(Violation) -> Set<String> {
        let unique = Set(topics)
        if unique.count > self.maxTopicsPerClient {
            throw Violation(description: "too many topics: \(unique.count) (at most \(self.maxTopicsPerClient))")
        }
        for topic in unique {
            if topic.isEmpty {
                throw Violation(description: "topic names must not be empty")
            }
            if topic.utf8.count > self.maxTopicLength {
                throw Violation(description: "topic name too long: \(topic.utf8.count) bytes (at most \(self.maxTopicLength))")
            }
        }
        return unique
    }
}
