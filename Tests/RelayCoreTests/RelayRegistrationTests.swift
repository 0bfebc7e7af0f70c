import Testing

@testable import RelayCore

@Suite("Relay registration and connections")
struct RelayRegistrationTests {
    // MARK: register / lookup

    @Test func registerGivesDefaultTopicsAndUserID() throws {
        let relay = TestRelay.make(defaultTopics: ["cats", "dogs"])
        let registration = relay.register(userID: 42)
        #expect(registration.userID == 42)
        #expect(registration.topics == ["cats", "dogs"])
        #expect(registration.connection == nil)
        #expect(!registration.isConnected)
        #expect(registration.idleSince != nil)

        let stored = try #require(relay.registration(registration.id))
        #expect(stored.id == registration.id)
        #expect(stored.userID == 42)
        #expect(stored.topics == ["cats", "dogs"])
    }

    @Test func defaultSettingsSubscribeToCats() {
        let relay = TestRelay(settings: .init())
        #expect(relay.register(userID: 0).topics == ["cats"])
    }

    @Test func registrationsOfOneUserAreDistinct() {
        let relay = TestRelay.make()
        let ids = (0..<50).map { _ in relay.register(userID: 7).id }
        #expect(Set(ids).count == 50)
        #expect(relay.counts == .init(registrations: 50, connections: 0))
    }

    // MARK: adopt (a registration from another node)

    @Test func adoptAddsAnUnknownRegistrationWithItsSharedTopics() throws {
        let relay = TestRelay.make()
        let id = ClientID.random()
        relay.adopt(SharedRegistration(id: id, userID: 9, topics: ["dogs"]))
        let adopted = try #require(relay.registration(id))
        #expect(adopted.userID == 9 && adopted.topics == ["dogs"] && !adopted.isConnected)
        let connection = RecordingConnection("c")
        #expect(relay.attach(connection, to: id) != nil)
        #expect(relay.publish("woof", topic: "dogs", userID: nil) == 1)
    }

    @Test func adoptMovesAConnectedRegistrationToTheSharedTopics() throws {
        let relay = TestRelay.make(defaultTopics: ["cats"])
        let registration = relay.register(userID: 1)
        let connection = RecordingConnection("c")
        relay.attach(connection, to: registration.id)
        relay.adopt(SharedRegistration(id: registration.id, userID: 1, topics: ["dogs", "birds"]))
        #expect(relay.registration(registration.id)?.topics == ["dogs", "birds"])
        #expect(relay.publish("meow", topic: "cats", userID: nil) == 0)
        #expect(relay.publish("tweet", topic: "birds", userID: nil) == 1)
        #expect(relay.registration(registration.id)?.connection === connection, "adopting keeps the live connection")
    }

    @Test func unknownIDHasNoRegistration() {
        let relay = TestRelay.make()
        _ = relay.register(userID: 1)
        #expect(relay.registration(ClientID.random()) == nil)
        #expect(relay.registration(ClientID(high: 0, low: 0)) == nil)
    }

    // MARK: unregister

    @Test func unregisterUnknownReturnsFalse() {
        let relay = TestRelay.make()
        _ = relay.register(userID: 1)
        #expect(relay.unregister(ClientID.random()) == false)
        #expect(relay.counts == .init(registrations: 1, connections: 0))
    }

    @Test func unregisterReturnsTrueOnce() {
        let relay = TestRelay.make()
        let id = relay.register(userID: 1).id
        #expect(relay.unregister(id) == true)
        #expect(relay.registration(id) == nil)
        #expect(relay.unregister(id) == false)
        #expect(relay.counts == .init(registrations: 0, connections: 0))
    }

    @Test func unregisterClosesLiveConnectionAndStopsDelivery() {
        let relay = TestRelay.make()
        let (id, connection) = relay.connectedClient(userID: 1)
        let (_, other) = relay.connectedClient(userID: 1)
        #expect(relay.counts == .init(registrations: 2, connections: 2))

        #expect(relay.unregister(id))
        #expect(connection.closeReasons == [.unregistered])
        #expect(other.closeReasons.isEmpty)
        #expect(relay.counts == .init(registrations: 1, connections: 1))

        #expect(relay.publish("after", topic: "cats", userID: nil) == 1)
        #expect(relay.publish("after-user", topic: "cats", userID: 1) == 1)
        #expect(connection.messages.isEmpty)
        #expect(other.messages == ["after", "after-user"])
        #expect(relay.topicSubscriberCounts() == ["cats": 1])

        // The gateway detaches the closed connection afterwards: nothing changes.
        relay.detach(connection, from: id)
        #expect(relay.counts == .init(registrations: 1, connections: 1))
        #expect(relay.attach(RecordingConnection(), to: id) == nil)
    }

    @Test func unregisterUnconnectedClosesNothing() {
        let relay = TestRelay.make()
        let id = relay.register(userID: 1).id
        let (_, bystander) = relay.connectedClient(userID: 2)
        #expect(relay.unregister(id))
        #expect(bystander.closeReasons.isEmpty)
        #expect(relay.counts == .init(registrations: 1, connections: 1))
    }

    // MARK: attach / detach

    @Test func attachToUnknownIDReturnsNil() {
        let relay = TestRelay.make()
        let connection = RecordingConnection()
        #expect(relay.attach(connection, to: ClientID.random()) == nil)
        #expect(relay.counts == .init(registrations: 0, connections: 0))
        #expect(relay.publish("x", topic: "cats", userID: nil) == 0)
        #expect(connection.messages.isEmpty)
        #expect(connection.closeReasons.isEmpty)
    }

    @Test func attachReturnsConnectedRegistration() throws {
        let relay = TestRelay.make()
        let id = relay.register(userID: 3).id
        let connection = RecordingConnection()
        let attached = try #require(relay.attach(connection, to: id))
        #expect(attached.id == id)
        #expect(attached.userID == 3)
        #expect(attached.isConnected)
        #expect(attached.connection === connection)
        #expect(attached.idleSince == nil)
        #expect(relay.registration(id)?.connection === connection)
        #expect(relay.counts == .init(registrations: 1, connections: 1))
    }

    @Test func secondAttachReplacesFirst() {
        let relay = TestRelay.make()
        let id = relay.register(userID: 1).id
        let first = RecordingConnection("first")
        let second = RecordingConnection("second")
        relay.attach(first, to: id)
        #expect(relay.publish("one", topic: "cats", userID: nil) == 1)

        relay.attach(second, to: id)
        #expect(first.closeReasons == [.replaced])
        #expect(second.closeReasons.isEmpty)
        #expect(relay.counts == .init(registrations: 1, connections: 1))
        #expect(relay.registration(id)?.connection === second)

        #expect(relay.publish("two", topic: "cats", userID: nil) == 1)
        #expect(relay.publish("three", topic: "cats", userID: 1) == 1)
        #expect(first.messages == ["one"])
        #expect(second.messages == ["two", "three"])
        #expect(relay.topicSubscriberCounts() == ["cats": 1])
    }

    @Test func detachOfReplacedConnectionKeepsTheNewOne() {
        let relay = TestRelay.make()
        let id = relay.register(userID: 1).id
        let first = RecordingConnection("first")
        let second = RecordingConnection("second")
        relay.attach(first, to: id)
        relay.attach(second, to: id)

        // The old session ends after being replaced and detaches itself: must be a no-op.
        relay.detach(first, from: id)
        #expect(relay.registration(id)?.connection === second)
        #expect(relay.registration(id)?.idleSince == nil)
        #expect(relay.counts == .init(registrations: 1, connections: 1))
        #expect(relay.publish("still", topic: "cats", userID: nil) == 1)
        #expect(second.messages == ["still"])
        #expect(first.messages.isEmpty)

        // Detaching the live one works.
        relay.detach(second, from: id)
        #expect(relay.counts == .init(registrations: 1, connections: 0))
        #expect(relay.publish("gone", topic: "cats", userID: nil) == 0)
    }

    @Test func detachWithWrongIDOrTwiceIsHarmless() {
        let relay = TestRelay.make()
        let (id, connection) = relay.connectedClient(userID: 1)
        let (otherID, other) = relay.connectedClient(userID: 2)

        relay.detach(connection, from: otherID)  // not other's connection
        relay.detach(connection, from: ClientID.random())
        #expect(relay.counts == .init(registrations: 2, connections: 2))
        #expect(relay.publish("m", topic: "cats", userID: nil) == 2)

        relay.detach(connection, from: id)
        relay.detach(connection, from: id)
        #expect(relay.counts == .init(registrations: 2, connections: 1))
        #expect(relay.publish("n", topic: "cats", userID: nil) == 1)
        #expect(connection.messages == ["m"])
        #expect(other.messages == ["m", "n"])
    }

    @Test func reconnectKeepsTopics() throws {
        let relay = TestRelay.make()
        let id = relay.register(userID: 5).id
        let first = RecordingConnection()
        relay.attach(first, to: id)
        #expect(try relay.setTopics(["news", "sport"], for: id))

        relay.detach(first, from: id)
        #expect(relay.registration(id)?.topics == ["news", "sport"])
        #expect(relay.registration(id)?.isConnected == false)
        #expect(relay.publish("missed", topic: "news", userID: nil) == 0)

        let second = RecordingConnection()
        let reattached = try #require(relay.attach(second, to: id))
        #expect(reattached.topics == ["news", "sport"])
        #expect(relay.publish("a", topic: "news", userID: nil) == 1)
        #expect(relay.publish("b", topic: "sport", userID: 5) == 1)
        #expect(relay.publish("c", topic: "cats", userID: nil) == 0)
        #expect(second.messages == ["a", "b"])
        #expect(first.messages.isEmpty)
        #expect(first.closeReasons.isEmpty)
    }

    @Test func countsTrackRegistrationsAndConnections() {
        let relay = TestRelay.make()
        #expect(relay.counts == .init(registrations: 0, connections: 0))

        let a = relay.register(userID: 1).id
        let b = relay.register(userID: 1).id
        let c = relay.register(userID: 2).id
        #expect(relay.counts == .init(registrations: 3, connections: 0))

        let a1 = RecordingConnection()
        let a2 = RecordingConnection()
        let b1 = RecordingConnection()
        relay.attach(a1, to: a)
        #expect(relay.counts == .init(registrations: 3, connections: 1))
        relay.attach(a2, to: a)  // replace: still one connection for a
        #expect(relay.counts == .init(registrations: 3, connections: 1))
        relay.attach(b1, to: b)
        #expect(relay.counts == .init(registrations: 3, connections: 2))
        relay.detach(a1, from: a)  // stale
        #expect(relay.counts == .init(registrations: 3, connections: 2))
        relay.detach(a2, from: a)
        #expect(relay.counts == .init(registrations: 3, connections: 1))
        relay.attach(a1, to: a)  // reconnect
        #expect(relay.counts == .init(registrations: 3, connections: 2))
        relay.unregister(b)
        #expect(relay.counts == .init(registrations: 2, connections: 1))
        relay.unregister(c)
        #expect(relay.counts == .init(registrations: 1, connections: 1))
        relay.unregister(a)
        #expect(relay.counts == .init(registrations: 0, connections: 0))
        #expect(relay.topicSubscriberCounts().isEmpty)
    }

    @Test func countsStayConsistentUnderConcurrentChurn() async {
        let relay = TestRelay.make()
        let tasks = 16
        let perTask = 200
        // Each task: register, attach, replace, detach the stale one, publish, then either
        // detach (keep the registration) or unregister. Odd iterations stay connected.
        let survivors = await withTaskGroup(of: [(ClientID, RecordingConnection, Bool)].self) { group in
            for t in 0..<tasks {
                group.addTask {
                    var kept: [(ClientID, RecordingConnection, Bool)] = []
                    for n in 0..<perTask {
                        let id = relay.register(userID: t).id
                        let first = RecordingConnection()
                        let second = RecordingConnection()
                        relay.attach(first, to: id)
                        relay.attach(second, to: id)
                        relay.detach(first, from: id)
                        relay.publish("x", topic: "cats", userID: t)
                        switch n % 3 {
                        case 0: relay.unregister(id)
                        case 1: kept.append((id, second, true))
                        default:
                            relay.detach(second, from: id)
                            kept.append((id, second, false))
                        }
                    }
                    return kept
                }
            }
            var all: [(ClientID, RecordingConnection, Bool)] = []
            for await kept in group { all += kept }
            return all
        }
        let connected = survivors.filter(\.2).count
        #expect(relay.counts == .init(registrations: survivors.count, connections: connected))
        #expect(relay.topicSubscriberCounts() == ["cats": connected])
        #expect(relay.publish("final", topic: "cats", userID: nil) == connected)
        for (id, connection, isConnected) in survivors {
            #expect(relay.registration(id)?.isConnected == isConnected)
            #expect(connection.messages.contains("final") == isConnected)
            #expect(connection.closeReasons.isEmpty)
        }
    }
}
