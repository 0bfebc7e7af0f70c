import NIOCore
import RelayCore
import Synchronization

/// How many connected clients want a form of each message beyond the plain text frame (envelope
/// mode; Server-Sent Events): while none does, publishes skip encoding it.
public final class ClientDemand: Sendable {
    private let clients = Atomic<Int>(0)

    var isWanted: Bool { self.clients.load(ordering: .relaxed) > 0 }

    func clientStarted() { self.clients.add(1, ordering: .relaxed) }
    func clientEnded() { self.clients.subtract(1, ordering: .relaxed) }
}

/// The publish path: encodes the message once, numbers it in its topic's history when history is
/// on, and hands it to the relay's recipients in offset order.
public struct Publisher: Sendable {
    let relay: Relay<SubscriberConnection>
    /// Nil when `relay.history` is off.
    let history: TopicHistory<PublishedMessage>?
    let envelopes: ClientDemand
    /// Clients on an event stream (the `events` handler).
    let eventStreams: ClientDemand

    /// Returns how many connected clients it reached and, with history on, its position.
    func publish(topic: String, userID: Int?, message: String) -> (recipients: Int, position: StreamPosition?) {
        // Without a given position nothing is a repeat: the message is always handed on.
        self.handOn(topic: topic, userID: userID, message: message, at: nil, live: true, frame: nil)!
    }

    /// Publishes `batch` in order, one receipt per message. A message whose topic and id
    /// `idempotency` has seen is not delivered again. Consecutive messages with the same text (one
    /// message to many topics) share one encoded frame.
    func publish(_ batch: [PublishRequest], idempotency: IdempotencyWindow?) -> [PublishReceipt] {
        var receipts: [PublishReceipt] = []
        receipts.reserveCapacity(batch.count)
        var previous: (message: String, frame: ByteBuffer)?
        for request in batch {
            let key = request.id.map { IdempotencyWindow.Key(topic: request.topic, id: $0) }
            if let key, let idempotency, case .duplicate(let position) = idempotency.admit(key) {
                receipts.append(PublishReceipt(recipients: 0, position: position, duplicate: true))
                continue
            }
            let frame = previous.flatMap { $0.message == request.message ? $0.frame : nil } ?? ServerFrame.text(request.message)
            previous = (request.message, frame)
            let (recipients, position) = self.handOn(
                topic: request.topic, userID: request.userID, message: request.message, at: nil, live: true, frame: frame
            )!
            if let key, let idempotency {
                idempotency.record(key, at: position)
            }
            receipts.append(PublishReceipt(recipients: recipients, position: position))
        }
        return receipts
    }

    /// Hands on a message a cluster's bus numbered (`position`): kept in history at that position
    /// when history is on, then, if `live`, sent to this node's recipients. Called in the bus's
    /// order; a position the history already holds is not handed on again.
    func deliver(topic: String, userID: Int?, message: String, position: StreamPosition, live: Bool) {
        _ = self.handOn(topic: topic, userID: userID, message: message, at: position, live: live, frame: nil)
    }

    /// The one path of all: numbered by the history (`given` nil) or at `given`; nil for a repeat.
    /// `frame`: the message's text frame, when it is already encoded.
    private func handOn(
        topic: String, userID: Int?, message: String, at given: StreamPosition?, live: Bool, frame: ByteBuffer?
    ) -> (recipients: Int, position: StreamPosition?)? {
        guard let history else {
            guard live else { return (0, given) }
            let withEnvelope = self.envelopes.isWanted
            return (
                self.relay.publish(
                    PublishedMessage(
                        topic: topic, userID: userID, message: message, position: given, frame: frame, withEnvelope: withEnvelope,
                        withEventData: self.eventStreams.isWanted
                    ),
                    topic: topic, userID: userID
                ),
                given
            )
        }
        // History keeps the message without its position (the entry's offset is stored beside
        // it); recipients get it with the position, sharing the same encoded frame.
        let stored = PublishedMessage(topic: topic, userID: userID, message: message, position: nil, frame: frame, withEnvelope: false)
        let bytes = stored.byteCount
        func fanOut(at position: StreamPosition) -> (recipients: Int, position: StreamPosition?) {
            guard live else { return (0, position) }
            let published = PublishedMessage(
                stored, at: position, withEnvelope: self.envelopes.isWanted, withEventData: self.eventStreams.isWanted
            )
            return (self.relay.publish(published, topic: topic, userID: userID, bytes: bytes), position)
        }
        guard let given else {
            return history.append(topic: topic, userID: userID, payload: stored, bytes: bytes, fanOut)
        }
        return history.append(topic: topic, userID: userID, payload: stored, bytes: bytes, at: given, fanOut)
    }
}
