import Testing

@testable import RelayCore

@Suite("Relay fan-out")
struct RelayFanOutTests {
    @Test func publishReachesExactlyConnectedSubscribersOfTheTopic() throws {
        let relay = TestRelay.make()
        let cats = (0..<5).map { relay.connectedClient(userID: $0, name: "cats\($0)").connection }
        let (dogID, dog) = relay.connectedClient(userID: 100, name: "dog")
        #expect(try relay.setTopics(["dogs"], for: dogID))
        let unconnected = relay.register(userID: 0)  // subscribed to cats, but no connection
        #expect(unconnected.topics == ["cats"])

        let recipients = relay.publish("meow", topic: "cats", userID: nil)
        #expect(recipients == 5)
        for connection in cats {
            #expect(connection.messages == ["meow"])
        }
        #expect(dog.messages.isEmpty)

        #expect(relay.publish("woof", topic: "dogs", userID: nil) == 1)
        #expect(dog.messages == ["woof"])
        for connection in cats {
            #expect(connection.messages == ["meow"])
        }
    }

    /// A crowd leaving one topic costs linear work: each detach changed the topic's dictionary in
    /// place (a copy of it left in the index made every detach copy all of it: 50,000 clients
    /// leaving took 30 s in a debug build, against 0.6 s now).
    @Test func aCrowdLeavesATopicInLinearTime() {
        let relay = TestRelay.make()
        let clients = (0..<50_000).map { relay.connectedClient(userID: $0 % 100) }
        let start = ContinuousClock.now
        for (id, connection) in clients {
            #expect(relay.detach(connection, from: id))
        }
        let took = ContinuousClock.now - start
        #expect(relay.publish("x", topic: "cats", userID: nil) == 0)
        #expect(took < .seconds(20), "50,000 detaches took \(took)")
    }

    @Test func publishToTopicWithoutSubscribersReturnsZero() {
        let relay = TestRelay.make()
        let (_, connection) = relay.connectedClient(userID: 1)
        _ = relay.register(userID: 1)
        #expect(relay.publish("x", topic: "birds", userID: nil) == 0)
        #expect(relay.publish("x", topic: "", userID: nil) == 0)
        #expect(relay.publish("x", topic: "Cats", userID: nil) == 0)  // topics are case-sensitive
        #expect(connection.messages.isEmpty)
    }

    @Test func publishToEmptyRelayReturnsZero() {
        let relay = TestRelay.make()
        #expect(relay.publish("x", topic: "cats", userID: nil) == 0)
        #expect(relay.publish("x", topic: "cats", userID: 1) == 0)
    }

    @Test func unconnectedRegistrationsReceiveNothing() {
        let relay = TestRelay.make()
        _ = relay.register(userID: 1)
        _ = relay.register(userID: 2)
        #expect(relay.publish("x", topic: "cats", userID: nil) == 0)
        #expect(relay.publish("x", topic: "cats", userID: 1) == 0)
    }

    @Test func userAddressingReachesOnlyThatUsersClients() throws {
        let relay = TestRelay.make()
        // User 1 has a phone and a browser; user 2 has one client; user 3 is on another topic.
        let (_, phone) = relay.connectedClient(userID: 1, name: "phone")
        let (_, browser) = relay.connectedClient(userID: 1, name: "browser")
        let (_, other) = relay.connectedClient(userID: 2, name: "other")
        let (dogID, dogOwner) = relay.connectedClient(userID: 3, name: "dog owner")
        #expect(try relay.setTopics(["dogs"], for: dogID))
        _ = relay.register(userID: 1)  // a third, unconnected client of user 1

        #expect(relay.publish("for user 1", topic: "cats", userID: 1) == 2)
        #expect(phone.messages == ["for user 1"])
        #expect(browser.messages == ["for user 1"])
        #expect(other.messages.isEmpty)
        #expect(dogOwner.messages.isEmpty)

        #expect(relay.publish("for user 2", topic: "cats", userID: 2) == 1)
        #expect(other.messages == ["for user 2"])
        #expect(phone.messages == ["for user 1"])

        // User 3 is connected, but not on "cats".
        #expect(relay.publish("for user 3", topic: "cats", userID: 3) == 0)
        #expect(dogOwner.messages.isEmpty)
        #expect(relay.publish("for user 3", topic: "dogs", userID: 3) == 1)
        #expect(dogOwner.messages == ["for user 3"])

        // A user with no clients at all.
        #expect(relay.publish("nobody", topic: "cats", userID: 99) == 0)

        // Broadcast reaches everyone on the topic.
        #expect(relay.publish("all", topic: "cats", userID: nil) == 3)
        #expect(phone.messages == ["for user 1", "all"])
        #expect(browser.messages == ["for user 1", "all"])
        #expect(other.messages == ["for user 2", "all"])
    }

    @Test func userAddressingAfterOneClientOfTheUserLeaves() {
        let relay = TestRelay.make()
        let (phoneID, phone) = relay.connectedClient(userID: 1)
        let (_, browser) = relay.connectedClient(userID: 1)
        relay.detach(phone, from: phoneID)
        #expect(relay.publish("m", topic: "cats", userID: 1) == 1)
        #expect(phone.messages.isEmpty)
        #expect(browser.messages == ["m"])
    }

    @Test func userZeroIsAddressable() {
        let relay = TestRelay.make()
        let (_, zero) = relay.connectedClient(userID: 0)
        let (_, one) = relay.connectedClient(userID: 1)
        #expect(relay.publish("z", topic: "cats", userID: 0) == 1)
        #expect(zero.messages == ["z"])
        #expect(one.messages.isEmpty)
    }

    @Test func clientOnSeveralTopicsGetsEachTopicsMessages() throws {
        let relay = TestRelay.make()
        let (id, connection) = relay.connectedClient(userID: 1)
        #expect(try relay.setTopics(["a", "b", "c"], for: id))
        #expect(relay.publish("1", topic: "a", userID: nil) == 1)
        #expect(relay.publish("2", topic: "b", userID: 1) == 1)
        #expect(relay.publish("3", topic: "cats", userID: nil) == 0)
        #expect(relay.publish("4", topic: "c", userID: nil) == 1)
        #expect(connection.messages == ["1", "2", "4"])
    }

    @Test func messagePayloadIsDeliveredUnchanged() {
        let relay = TestRelay.make()
        let (_, connection) = relay.connectedClient(userID: 1)
        let payloads = ["", " ", "{\"json\": [1, 2]}", "line\nbreak", "émoji 🐈", String(repeating: "x", count: 100_000)]
        for payload in payloads {
            relay.publish(payload, topic: "cats", userID: nil)
        }
        #expect(connection.messages == payloads)
    }

    @Test func perClientOrderingIsPreserved() throws {
        let relay = TestRelay.make()
        let clients = (0..<8).map { relay.connectedClient(userID: $0 % 2) }
        let (multiID, multi) = relay.connectedClient(userID: 1)
        #expect(try relay.setTopics(["cats", "dogs"], for: multiID))

        var expectedMulti: [String] = []
        var expectedUser1: [String] = []
        var expectedUser0: [String] = []
        for n in 0..<2_000 {
            switch n % 3 {
            case 0:
                relay.publish("c\(n)", topic: "cats", userID: nil)
                expectedMulti.append("c\(n)")
                expectedUser0.append("c\(n)")
                expectedUser1.append("c\(n)")
            case 1:
                relay.publish("d\(n)", topic: "dogs", userID: nil)
                expectedMulti.append("d\(n)")
            default:
                relay.publish("u\(n)", topic: "cats", userID: 1)
                expectedMulti.append("u\(n)")
                expectedUser1.append("u\(n)")
            }
        }
        for (index, client) in clients.enumerated() {
            #expect(client.connection.messages == (index % 2 == 0 ? expectedUser0 : expectedUser1))
        }
        #expect(multi.messages == expectedMulti)
    }

    @Test func concurrentPublishesToDifferentTopicsAllArrive() async throws {
        let relay = TestRelay.make()
        let topicCount = 16
        let clientsPerTopic = 4
        let messagesPerTopic = 500

        var clients: [(topic: String, connection: RecordingConnection)] = []
        for t in 0..<topicCount {
            for c in 0..<clientsPerTopic {
                let (id, connection) = relay.connectedClient(userID: c)
                #expect(try relay.setTopics(["topic-\(t)"], for: id))
                clients.append(("topic-\(t)", connection))
            }
        }
        // One client listens to everything.
        let (allID, all) = relay.connectedClient(userID: 999)
        #expect(try relay.setTopics((0..<topicCount).map { "topic-\($0)" }, for: allID))

        let totals = await withTaskGroup(of: Int.self) { group in
            for t in 0..<topicCount {
                group.addTask {
                    var delivered = 0
                    for n in 0..<messagesPerTopic {
                        delivered += relay.publish("\(t):\(n)", topic: "topic-\(t)", userID: nil)
                    }
                    return delivered
                }
            }
            var sum = 0
            for await delivered in group { sum += delivered }
            return sum
        }

        #expect(totals == topicCount * messagesPerTopic * (clientsPerTopic + 1))
        for (topic, connection) in clients {
            let t = topic.dropFirst("topic-".count)
            // Every message of its topic, in publish order, and nothing else.
            #expect(connection.messages == (0..<messagesPerTopic).map { "\(t):\($0)" })
        }
        let received = all.messages
        #expect(received.count == topicCount * messagesPerTopic)
        #expect(Set(received).count == received.count)
        // Per topic, the all-topics client still sees publish order.
        for t in 0..<topicCount {
            let mine = received.filter { $0.hasPrefix("\(t):") }
            #expect(mine == (0..<messagesPerTopic).map { "\(t):\($0)" })
        }
    }

    @Test func concurrentPublishesToOneTopicAllArrive() async {
        let relay = TestRelay.make()
        let connections = (0..<10).map { relay.connectedClient(userID: $0).connection }
        let tasks = 8
        let perTask = 250
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<tasks {
                group.addTask {
                    for n in 0..<perTask {
                        relay.publish("\(t):\(n)", topic: "cats", userID: nil)
                    }
                }
            }
        }
        for connection in connections {
            let messages = connection.messages
            #expect(messages.count == tasks * perTask)
            #expect(Set(messages).count == tasks * perTask)
        }
    }

    @Test func topicSubscriberCountsReflectConnectedSubscribersOnly() throws {
        let relay = TestRelay.make()
        #expect(relay.topicSubscriberCounts().isEmpty)

        _ = relay.register(userID: 1)  // unconnected: not counted
        #expect(relay.topicSubscriberCounts().isEmpty)

        let (a, aConn) = relay.connectedClient(userID: 1)
        let (b, _) = relay.connectedClient(userID: 1)
        let (c, cConn) = relay.connectedClient(userID: 2)
        #expect(relay.topicSubscriberCounts() == ["cats": 3])

        #expect(try relay.setTopics(["cats", "dogs"], for: a))
        #expect(try relay.setTopics(["dogs"], for: b))
        #expect(relay.topicSubscriberCounts() == ["cats": 2, "dogs": 2])

        // An unconnected registration changing topics changes nothing.
        let idle = relay.register(userID: 3).id
        #expect(try relay.setTopics(["birds"], for: idle))
        #expect(relay.topicSubscriberCounts() == ["cats": 2, "dogs": 2])

        relay.detach(cConn, from: c)
        #expect(relay.topicSubscriberCounts() == ["cats": 1, "dogs": 2])

        // Replacing a connection does not double count.
        relay.attach(RecordingConnection(), to: a)
        #expect(relay.topicSubscriberCounts() == ["cats": 1, "dogs": 2])

        relay.unregister(b)
        #expect(relay.topicSubscriberCounts() == ["cats": 1, "dogs": 1])

        relay.attach(cConn, to: c)
        #expect(relay.topicSubscriberCounts() == ["cats": 2, "dogs": 1])
        _ = aConn
    }

    @Test func topicSubscriberCountsCoverManyTopics() throws {
        let relay = TestRelay.make()
        var expected: [String: Int] = [:]
        for n in 0..<200 {
            let (id, _) = relay.connectedClient(userID: n)
            let topics = ["t\(n % 37)", "u\(n % 11)"]
            #expect(try relay.setTopics(topics, for: id))
            for topic in topics { expected[topic, default: 0] += 1 }
        }
        #expect(relay.topicSubscriberCounts() == expected)
    }
}
