import Synchronization
import Testing

@testable import RelayCore

/// Messages addressed to a user survive a short disconnect of that user's registrations.
@Suite("Relay parked messages")
struct RelayParkedTests {
    static func relay(parked: Int = 3, bytes: Int = 1 << 20) -> TestRelay {
        TestRelay(settings: .init(parkedMessages: parked, parkedBytes: bytes))
    }

    /// Attaches a fresh connection to `id` and returns it with what it was handed as parked.
    static func reconnect(_ relay: TestRelay, _ id: ClientID) -> (RecordingConnection, [String], Int) {
        let connection = RecordingConnection()
        var parked: [String] = []
        var dropped = 0
        relay.attach(connection, to: id) { messages, lost in
            parked = messages
            dropped = lost
        }
        return (connection, parked, dropped)
    }

    @Test func addressedMessagesWaitForTheReconnect() throws {
        let relay = Self.relay()
        let (id, first) = relay.connectedClient(userID: 7)
        relay.detach(first, from: id)
        #expect(relay.publish("for 7", topic: "cats", userID: 7) == 0)
        #expect(relay.publish("for 8", topic: "cats", userID: 8) == 0)
        #expect(relay.publish("broadcast", topic: "cats", userID: nil) == 0)
        #expect(relay.publish("other topic", topic: "dogs", userID: 7) == 0)
        let (second, parked, dropped) = Self.reconnect(relay, id)
        #expect(parked == ["for 7"])
        #expect(dropped == 0)
        #expect(relay.publish("live", topic: "cats", userID: 7) == 1)
        #expect(second.messages == ["live"])
        #expect(relay.parkedBytes == 0)
        // Handed over once: a later reconnect gets nothing more.
        relay.detach(second, from: id)
        #expect(Self.reconnect(relay, id).1.isEmpty)
    }

    @Test func theOldestGoFirstPastTheCapacity() {
        let relay = Self.relay(parked: 3)
        let (id, first) = relay.connectedClient(userID: 1)
        relay.detach(first, from: id)
        for index in 1...5 {
            relay.publish("m\(index)", topic: "cats", userID: 1, bytes: 2)
        }
        let (_, parked, dropped) = Self.reconnect(relay, id)
        #expect(parked == ["m3", "m4", "m5"])
        #expect(dropped == 2)
    }

    @Test func theByteCapHoldsOverAllRegistrations() {
        let relay = Self.relay(parked: 100, bytes: 50)
        let clients = (0..<4).map { _ in relay.connectedClient(userID: 1) }
        for (id, connection) in clients {
            relay.detach(connection, from: id)
        }
        for index in 0..<10 {
            relay.publish("m\(index)", topic: "cats", userID: 1, bytes: 10)
            #expect(relay.parkedBytes <= 50)
        }
        let handed = clients.map { Self.reconnect(relay, $0.id) }
        #expect(handed.reduce(0) { $0 + $1.1.count } == 5)
        #expect(handed.reduce(0) { $0 + $1.2 } == 35)
        #expect(relay.parkedBytes == 0)
    }

    @Test func topicChangesWhileAwayApply() throws {
        let relay = Self.relay()
        let (id, first) = relay.connectedClient(userID: 1)
        relay.detach(first, from: id)
        #expect(try relay.setTopics(["dogs"], for: id))
        relay.publish("cat news", topic: "cats", userID: 1)
        relay.publish("dog news", topic: "dogs", userID: 1)
        #expect(Self.reconnect(relay, id).1 == ["dog news"])
    }

    @Test func unregisterAndExpiryFreeWhatWasKept() {
        let relay = TestRelay(settings: .init(registrationTTL: .seconds(10), parkedMessages: 10))
        let (gone, a) = relay.connectedClient(userID: 1)
        let (expiring, b) = relay.connectedClient(userID: 1)
        let start = ContinuousClock.now
        relay.detach(a, from: gone, now: start)
        relay.detach(b, from: expiring, now: start)
        relay.publish("m", topic: "cats", userID: 1, bytes: 100)
        #expect(relay.parkedBytes == 200)
        #expect(relay.unregister(gone))
        #expect(relay.parkedBytes == 100)
        #expect(relay.expireIdleRegistrations(now: start + .seconds(11)) == 1)
        #expect(relay.parkedBytes == 0)
    }

    @Test func offByDefault() {
        let relay = TestRelay.make()
        let (id, first) = relay.connectedClient(userID: 1)
        relay.detach(first, from: id)
        relay.publish("m", topic: "cats", userID: 1, bytes: 1)
        #expect(Self.reconnect(relay, id).1.isEmpty)
        #expect(relay.parkedBytes == 0)
    }

    /// Publishing while reconnecting: every message arrives exactly once, parked or live.
    @Test func concurrentReconnectLosesAndDuplicatesNothing() async {
        let relay = Self.relay(parked: 100_000, bytes: 1 << 30)
        let (id, first) = relay.connectedClient(userID: 1)
        relay.detach(first, from: id)
        final class Collected: Sendable {
            let received = Mutex<[String]>([])
            let connections = Mutex<[RecordingConnection]>([])
        }
        let collected = Collected()
        let count = 2_000
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for index in 0..<count {
                    relay.publish("\(index)", topic: "cats", userID: 1, bytes: 1)
                }
            }
            group.addTask {
                for _ in 0..<200 {
                    let (connection, parked, _) = Self.reconnect(relay, id)
                    collected.received.withLock { $0 += parked }
                    await Task.yield()
                    relay.detach(connection, from: id)
                    collected.connections.withLock { $0.append(connection) }
                }
            }
        }
        let (last, parked, _) = Self.reconnect(relay, id)
        // Read what each connection got only now: a publish may still have been handing a
        // message to a connection just as it detached.
        let live = collected.connections.withLock { $0 }.flatMap(\.messages) + last.messages
        let all = collected.received.withLock { $0 } + parked + live
        #expect(all.count == count)
        #expect(Set(all).count == count)
    }
}
