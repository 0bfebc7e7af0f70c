import RelayCore
import Synchronization

/// How many connected clients are in envelope mode: while none is, publishes skip encoding the
/// envelope frame.
public final class EnvelopeDemand: Sendable {
    private let clients = Atomic<Int>(0)

    var isWanted: Bool { self.clients.load(ordering: .relaxed) > 0 }

    func clientStarted() { self.clients.add(1, ordering: .relaxed) }
    func clientEnded() { self.clients.subtract(1, ordering: .relaxed) }
}

/// The publish path: encodes the message once, numbers it in its topic's history when history is
/// on, and hands it to the relay's recipients in offset order.
public struct Publisher: Sendable {
    let relay: Relay<WebSocketSubscriber>
    /// Nil when `relay.history` is off.
    let history: TopicHistory<PublishedMessage>?
    let envelopes: EnvelopeDemand

    /// Returns how many connected clients it reached and, with history on, its position.
    func publish(topic: String, userID: Int?, message: String) -> (recipients: Int, position: StreamPosition?) {
        guard let history else {
            let published = PublishedMessage(
                topic: topic, userID: userID, message: message, position: nil, withEnvelope: self.envelopes.isWanted
            )
            return (self.relay.publish(published, topic: topic, userID: userID), nil)
        }
        // History keeps the message without its position (the entry's offset is stored beside
        // it); recipients get it with the position, sharing the same encoded frame.
        let stored = PublishedMessage(topic: topic, userID: userID, message: message, position: nil, withEnvelope: false)
        let bytes = stored.byteCount
        return history.append(topic: topic, userID: userID, payload: stored, bytes: bytes) { position in
            let live = PublishedMessage(stored, at: position, withEnvelope: self.envelopes.isWanted)
            return (self.relay.publish(live, topic: topic, userID: userID, bytes: bytes), position)
        }
    }

    /// Hands on a message a cluster's bus numbered (`position`): kept in history at that position
    /// when history is on, then, if `live`, sent to this node's recipients. Called in the bus's
    /// order; a position the history already holds is not handed on again.
    func deliver(topic: String, userID: Int?, message: String, position: StreamPosition, live: Bool) {
        guard let history else {
            guard live else { return }
            let published = PublishedMessage(
                topic: topic, userID: userID, message: message, position: position, withEnvelope: self.envelopes.isWanted
            )
            self.relay.publish(published, topic: topic, userID: userID)
            return
        }
        let stored = PublishedMessage(topic: topic, userID: userID, message: message, position: nil, withEnvelope: false)
        let bytes = stored.byteCount
        history.append(topic: topic, userID: userID, payload: stored, bytes: bytes, at: position) { position in
            guard live else { return }
            let live = PublishedMessage(stored, at: position, withEnvelope: self.envelopes.isWanted)
            self.relay.publish(live, topic: topic, userID: userID, bytes: bytes)
        }
    }
}
