import Testing

@testable import RelayCore

@Suite("TopicRules")
struct TopicRulesTests {
    @Test func defaults() {
        let rules = TopicRules()
        #expect(rules.maxTopicsPerClient == 64)
        #expect(rules.maxTopicLength == 256)
    }

    @Test func validListBecomesASet() throws {
        let rules = TopicRules(maxTopicsPerClient: 3, maxTopicLength: 5)
        #expect(try rules.validate(["a", "bb", "ccccc"]) == ["a", "bb", "ccccc"])
        #expect(try rules.validate([]) == [])
        // Duplicates collapse and count once.
        #expect(try rules.validate(["a", "a", "a", "b", "b", "c"]) == ["a", "b", "c"])
    }

    @Test func tooManyTopicsThrow() {
        let rules = TopicRules(maxTopicsPerClient: 3, maxTopicLength: 10)
        #expect(throws: TopicRules.Violation.self) {
            try rules.validate(["a", "b", "c", "d"])
        }
        #expect(throws: TopicRules.Violation(description: "too many topics: 4 (at most 3)")) {
            try rules.validate(["a", "b", "c", "d"])
        }
    }

    @Test func emptyTopicNameThrows() {
        let rules = TopicRules()
        #expect(throws: TopicRules.Violation(description: "topic names must not be empty")) {
            try rules.validate([""])
        }
        #expect(throws: TopicRules.Violation.self) {
            try rules.validate(["cats", ""])
        }
    }

    @Test func topicLengthIsMeasuredInUTF8Bytes() throws {
        let rules = TopicRules(maxTopicsPerClient: 10, maxTopicLength: 4)
        #expect(try rules.validate(["abcd"]) == ["abcd"])
        #expect(throws: TopicRules.Violation(description: "topic name too long: 5 bytes (at most 4)")) {
            try rules.validate(["abcde"])
        }
        // Two characters, six bytes.
        #expect(throws: TopicRules.Violation.self) {
            try rules.validate(["猫猫"])
        }
        #expect(try rules.validate(["éé"]) == ["éé"])  // 4 bytes
    }

    @Test func violationsDescribeTheProblem() throws {
        let rules = TopicRules(maxTopicsPerClient: 1, maxTopicLength: 3)
        do {
            _ = try rules.validate(["a", "b"])
            Issue.record("expected a violation")
        } catch {
            #expect(error.description.contains("too many"))
        }
        do {
            _ = try rules.validate(["long"])
            Issue.record("expected a violation")
        } catch {
            #expect(error.description.contains("too long"))
        }
    }
}

@Suite("Relay topics")
struct RelayTopicTests {
    @Test func setTopicsReplacesForConnectedClient() throws {
        let relay = TestRelay.make()
        let (id, connection) = relay.connectedClient(userID: 1)
        #expect(relay.publish("before", topic: "cats", userID: nil) == 1)

        #expect(try relay.setTopics(["dogs", "birds"], for: id))
        #expect(relay.registration(id)?.topics == ["dogs", "birds"])
        #expect(relay.publish("old", topic: "cats", userID: nil) == 0)
        #expect(relay.publish("old-user", topic: "cats", userID: 1) == 0)
        #expect(relay.publish("new", topic: "dogs", userID: nil) == 1)
        #expect(relay.publish("new-user", topic: "birds", userID: 1) == 1)
        #expect(connection.messages == ["before", "new", "new-user"])
        #expect(connection.closeReasons.isEmpty)
        #expect(relay.topicSubscriberCounts() == ["dogs": 1, "birds": 1])
    }

    @Test func setTopicsKeepsOverlappingTopics() throws {
        let relay = TestRelay.make()
        let (id, connection) = relay.connectedClient(userID: 1)
        #expect(try relay.setTopics(["cats", "dogs"], for: id))
        #expect(try relay.setTopics(["dogs", "birds"], for: id))
        #expect(relay.publish("c", topic: "cats", userID: nil) == 0)
        #expect(relay.publish("d", topic: "dogs", userID: 1) == 1)
        #expect(relay.publish("b", topic: "birds", userID: nil) == 1)
        #expect(connection.messages == ["d", "b"])
    }

    @Test func setTopicsToEmptyStopsAllDelivery() throws {
        let relay = TestRelay.make()
        let (id, connection) = relay.connectedClient(userID: 1)
        #expect(try relay.setTopics([], for: id))
        #expect(relay.registration(id)?.topics == [])
        #expect(relay.publish("x", topic: "cats", userID: nil) == 0)
        #expect(connection.messages.isEmpty)
        #expect(relay.topicSubscriberCounts().isEmpty)
        #expect(relay.counts == .init(registrations: 1, connections: 1))
    }

    @Test func setTopicsDoesNotAffectOtherClients() throws {
        let relay = TestRelay.make()
        let (id, _) = relay.connectedClient(userID: 1)
        let (_, sibling) = relay.connectedClient(userID: 1)
        #expect(try relay.setTopics(["dogs"], for: id))
        #expect(relay.publish("c", topic: "cats", userID: 1) == 1)
        #expect(sibling.messages == ["c"])
    }

    @Test func setTopicsBeforeConnectingAppliesOnAttach() throws {
        let relay = TestRelay.make()
        let id = relay.register(userID: 1).id
        #expect(try relay.setTopics(["dogs"], for: id))
        #expect(relay.registration(id)?.topics == ["dogs"])
        // Not connected yet: nothing delivered, nothing indexed.
        #expect(relay.publish("early", topic: "dogs", userID: nil) == 0)
        #expect(relay.topicSubscriberCounts().isEmpty)

        let connection = RecordingConnection()
        let attached = try #require(relay.attach(connection, to: id))
        #expect(attached.topics == ["dogs"])
        #expect(relay.publish("cats", topic: "cats", userID: nil) == 0)
        #expect(relay.publish("dogs", topic: "dogs", userID: nil) == 1)
        #expect(relay.publish("dogs-user", topic: "dogs", userID: 1) == 1)
        #expect(connection.messages == ["dogs", "dogs-user"])
    }

    @Test func setTopicsWhileDisconnectedAppliesOnReconnect() throws {
        let relay = TestRelay.make()
        let (id, first) = relay.connectedClient(userID: 1)
        relay.detach(first, from: id)
        #expect(try relay.setTopics(["dogs"], for: id))
        #expect(relay.topicSubscriberCounts().isEmpty)

        let second = RecordingConnection()
        relay.attach(second, to: id)
        #expect(relay.publish("c", topic: "cats", userID: nil) == 0)
        #expect(relay.publish("d", topic: "dogs", userID: nil) == 1)
        #expect(second.messages == ["d"])
        #expect(first.messages.isEmpty)
    }

    @Test func setTopicsAfterReplaceGoesToTheNewConnection() throws {
        let relay = TestRelay.make()
        let (id, first) = relay.connectedClient(userID: 1)
        let second = RecordingConnection()
        relay.attach(second, to: id)
        #expect(try relay.setTopics(["dogs"], for: id))
        #expect(relay.publish("d", topic: "dogs", userID: nil) == 1)
        #expect(second.messages == ["d"])
        #expect(first.messages.isEmpty)
    }

    @Test func setTopicsForUnknownIDReturnsFalse() throws {
        let relay = TestRelay.make()
        _ = relay.register(userID: 1)
        #expect(try relay.setTopics(["dogs"], for: ClientID.random()) == false)
        #expect(relay.counts == .init(registrations: 1, connections: 0))
    }

    @Test func setTopicsAfterUnregisterReturnsFalse() throws {
        let relay = TestRelay.make()
        let (id, _) = relay.connectedClient(userID: 1)
        relay.unregister(id)
        #expect(try relay.setTopics(["dogs"], for: id) == false)
        #expect(relay.topicSubscriberCounts().isEmpty)
    }

    @Test func tooManyTopicsThrowAndLeaveTopicsUnchanged() throws {
        let relay = TestRelay.make(rules: TopicRules(maxTopicsPerClient: 2, maxTopicLength: 16))
        let (id, connection) = relay.connectedClient(userID: 1)
        #expect(throws: TopicRules.Violation.self) {
            try relay.setTopics(["a", "b", "c"], for: id)
        }
        try assertStillOnCats(relay, id, connection)
    }

    @Test func emptyTopicNameThrowsAndLeavesTopicsUnchanged() throws {
        let relay = TestRelay.make()
        let (id, connection) = relay.connectedClient(userID: 1)
        #expect(throws: TopicRules.Violation.self) {
            try relay.setTopics(["dogs", ""], for: id)
        }
        try assertStillOnCats(relay, id, connection)
    }

    @Test func tooLongTopicThrowsAndLeavesTopicsUnchanged() throws {
        let relay = TestRelay.make(rules: TopicRules(maxTopicsPerClient: 8, maxTopicLength: 8))
        let (id, connection) = relay.connectedClient(userID: 1)
        #expect(throws: TopicRules.Violation.self) {
            try relay.setTopics(["dogs", "123456789"], for: id)
        }
        try assertStillOnCats(relay, id, connection)
    }

    @Test func violationForUnconnectedClientLeavesTopicsUnchanged() throws {
        let relay = TestRelay.make(rules: TopicRules(maxTopicsPerClient: 1, maxTopicLength: 8))
        let id = relay.register(userID: 1).id
        #expect(throws: TopicRules.Violation.self) {
            try relay.setTopics(["a", "b"], for: id)
        }
        #expect(relay.registration(id)?.topics == ["cats"])
    }

    @Test func rulesAreCheckedEvenForUnknownIDs() {
        let relay = TestRelay.make()
        #expect(throws: TopicRules.Violation.self) {
            try relay.setTopics([""], for: ClientID.random())
        }
    }

    private func assertStillOnCats(
        _ relay: TestRelay, _ id: ClientID, _ connection: RecordingConnection,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let registration = try #require(relay.registration(id), sourceLocation: sourceLocation)
        #expect(registration.topics == ["cats"], sourceLocation: sourceLocation)
        #expect(relay.publish("dog", topic: "dogs", userID: nil) == 0, sourceLocation: sourceLocation)
        #expect(relay.publish("cat", topic: "cats", userID: nil) == 1, sourceLocation: sourceLocation)
        #expect(connection.messages == ["cat"], sourceLocation: sourceLocation)
        #expect(connection.closeReasons.isEmpty, sourceLocation: sourceLocation)
        #expect(relay.topicSubscriberCounts() == ["cats": 1], sourceLocation: sourceLocation)
    }
}
