import Testing

@testable import RelayCore

@Suite("Relay registration TTL")
struct RelayExpiryTests {
    private let ttl: Duration = .seconds(600)
    private let start = ContinuousClock.now

    @Test func unconnectedRegistrationExpiresAfterTTLNotBefore() {
        let relay = TestRelay.make(ttl: ttl)
        let id = relay.register(userID: 1, now: start).id
        #expect(relay.registration(id)?.idleSince == start)

        #expect(relay.expireIdleRegistrations(now: start) == 0)
        #expect(relay.expireIdleRegistrations(now: start + .seconds(300)) == 0)
        #expect(relay.expireIdleRegistrations(now: start + ttl - .milliseconds(1)) == 0)
        #expect(relay.registration(id) != nil)

        #expect(relay.expireIdleRegistrations(now: start + ttl + .milliseconds(1)) == 1)
        #expect(relay.registration(id) == nil)
        #expect(relay.counts == .init(registrations: 0, connections: 0))
        // Gone for good.
        #expect(relay.attach(RecordingConnection(), to: id) == nil)
        #expect(relay.unregister(id) == false)
        #expect(relay.expireIdleRegistrations(now: start + ttl * 2) == 0)
    }

    @Test func onlyRegistrationsPastTheirTTLExpire() {
        let relay = TestRelay.make(ttl: ttl)
        let old = relay.register(userID: 1, now: start).id
        let newer = relay.register(userID: 1, now: start + .seconds(400)).id
        #expect(relay.expireIdleRegistrations(now: start + .seconds(700)) == 1)
        #expect(relay.registration(old) == nil)
        #expect(relay.registration(newer) != nil)
        #expect(relay.expireIdleRegistrations(now: start + .seconds(1_001)) == 1)
        #expect(relay.registration(newer) == nil)
    }

    @Test func connectedRegistrationNeverExpires() {
        let relay = TestRelay.make(ttl: ttl)
        let id = relay.register(userID: 1, now: start).id
        let connection = RecordingConnection()
        relay.attach(connection, to: id)
        #expect(relay.registration(id)?.idleSince == nil)

        #expect(relay.expireIdleRegistrations(now: start + ttl * 2) == 0)
        #expect(relay.expireIdleRegistrations(now: start + .seconds(86_400 * 365)) == 0)
        #expect(relay.registration(id)?.isConnected == true)
        #expect(relay.counts == .init(registrations: 1, connections: 1))
        #expect(relay.publish("still here", topic: "cats", userID: nil) == 1)
        #expect(connection.messages == ["still here"])
        #expect(connection.closeReasons.isEmpty)
    }

    @Test func idleTimeStartsAtDetach() {
        let relay = TestRelay.make(ttl: ttl)
        let id = relay.register(userID: 1, now: start).id
        let connection = RecordingConnection()
        relay.attach(connection, to: id)

        let detachedAt = start + .seconds(1_000)  // long past the TTL counted from registration
        relay.detach(connection, from: id, now: detachedAt)
        #expect(relay.registration(id)?.idleSince == detachedAt)

        #expect(relay.expireIdleRegistrations(now: detachedAt) == 0)
        #expect(relay.expireIdleRegistrations(now: detachedAt + ttl - .seconds(1)) == 0)
        #expect(relay.registration(id) != nil)
        #expect(relay.expireIdleRegistrations(now: detachedAt + ttl + .seconds(1)) == 1)
        #expect(relay.registration(id) == nil)
        #expect(relay.counts == .init(registrations: 0, connections: 0))
    }

    @Test func reconnectBeforeExpiryClearsIdleTime() {
        let relay = TestRelay.make(ttl: ttl)
        let id = relay.register(userID: 1, now: start).id
        relay.attach(RecordingConnection(), to: id)
        #expect(relay.expireIdleRegistrations(now: start + ttl * 3) == 0)
        #expect(relay.registration(id) != nil)
    }

    @Test func staleDetachDoesNotStartIdleTime() {
        let relay = TestRelay.make(ttl: ttl)
        let id = relay.register(userID: 1, now: start).id
        let first = RecordingConnection()
        let second = RecordingConnection()
        relay.attach(first, to: id)
        relay.attach(second, to: id)
        relay.detach(first, from: id, now: start)
        #expect(relay.registration(id)?.idleSince == nil)
        #expect(relay.expireIdleRegistrations(now: start + ttl * 2) == 0)
        #expect(relay.registration(id)?.connection === second)
    }

    @Test func zeroTTLNeverExpires() {
        let relay = TestRelay.make(ttl: .zero)
        let id = relay.register(userID: 1, now: start).id
        let (connectedID, connection) = relay.connectedClient(userID: 2)
        relay.detach(connection, from: connectedID, now: start)

        #expect(relay.expireIdleRegistrations(now: start) == 0)
        #expect(relay.expireIdleRegistrations(now: start + .seconds(86_400 * 365 * 10)) == 0)
        #expect(relay.registration(id) != nil)
        #expect(relay.registration(connectedID) != nil)
        #expect(relay.counts == .init(registrations: 2, connections: 0))
    }

    @Test func expiryCountsAndLeavesOthersAlone() {
        let relay = TestRelay.make(ttl: .seconds(10))
        let idle = (0..<5).map { relay.register(userID: $0, now: start).id }
        let connected = (0..<3).map { n -> (ClientID, RecordingConnection) in
            let id = relay.register(userID: 10 + n, now: start).id
            let connection = RecordingConnection()
            relay.attach(connection, to: id)
            return (id, connection)
        }
        #expect(relay.counts == .init(registrations: 8, connections: 3))
        #expect(relay.expireIdleRegistrations(now: start + .seconds(11)) == 5)
        for id in idle {
            #expect(relay.registration(id) == nil)
        }
        #expect(relay.counts == .init(registrations: 3, connections: 3))
        #expect(relay.publish("m", topic: "cats", userID: nil) == 3)
        for (id, connection) in connected {
            #expect(relay.registration(id) != nil)
            #expect(connection.messages == ["m"])
            #expect(connection.closeReasons.isEmpty)
        }
    }
}
