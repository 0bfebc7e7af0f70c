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
        // Without a given position nothing is a repeat: the message is always handed on.
        self.handOn(topic: topic, userID: userID, message: message, at: nil, live: true)!
    }

    /// Hands on a message a cluster's bus numbered (`position`): kept in history at that position
    /// when history is on, then, if `live`, sent to this node's recipients. Called in the bus's
    /// order; a position the history already holds is not handed on again.
    func deliver(topic: String, userID: Int?, message: String, position: StreamPosition, live: Bool) {
        _ = self.handOn(topic: topic, userID: userID, message: message, at: position, live: live)
    }

    /// The one path of both: numbered by the history (`given` nil) or at `given`; nil for a repeat.
    private func handOn(
        topic: String, userID: Int?, message: String, at given: StreamPosition?, live: Bool
    ) -> (recipients: Int, position: StreamPosition?)? {
        guard let history else {
            guard live else { return (0, given) }
            let withEnvelope = self.envelopes.isWanted
            return (
                self.relay.publish(
                    PublishedMessage(topic: topic, userID: userID, message: message, position: given, withEnvelope: withEnvelope),
                    topic: topic, userID: userID
                ),
                given
            )
        }
        // History keeps the message without its position (the entry's offset is stored beside
        // it); recipients get it with the position, sharing the same encoded frame.
        let stored = PublishedMessage(topic: topic, userID: userID, message: message, position: nil, withEnvelope: false)
        let bytes = stored.byteCount
        func fanOut(at position: StreamPosition) -> (recipients: Int, position: StreamPosition?) {
            guard live else { return (0, position) }
            let published = PublishedMessage(stored, at: position, withEnvelope: self.envelopes.isWanted)
            return (self.relay.publish(published, topic: topic, userID: userID, bytes: bytes), position)
        }
        guard let given else {
            return history.append(topic: topic, userID: userID, payload: stored, bytes: bytes, fanOut)
        }
        return history.append(topic: topic, userID: userID, payload: stored, bytes: bytes, at: given, fanOut)
    }
}
