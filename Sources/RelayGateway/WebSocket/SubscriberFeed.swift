import NIOCore
import RelayCore

/// What one subscriber is sent, on its event loop: raw frames (the seed's format) or, in envelope
/// mode, envelope frames; and, after a resume, the missed messages first, each exactly once.
///
/// In envelope mode it remembers per topic the offsets it has sent (a ``Cursor``), so a message
/// that arrives live after it was already replayed is not sent twice.
final class SubscriberFeed {
    /// What this client was sent of one topic's stream.
    struct Cursor {
        var epoch: String
        /// The first offset that arrived live, if any did.
        var firstLive: UInt64?
        /// The highest offset sent (or covered by a replay).
        var last: UInt64
    }

    let outbound: SubscriberOutbound
    private let envelopes: EnvelopeDemand
    private(set) var envelopeMode = false
    private var cursors: [String: Cursor] = [:]

    init(outbound: SubscriberOutbound, envelopes: EnvelopeDemand) {
        self.outbound = outbound
        self.envelopes = envelopes
    }

    /// Switches this client to envelope frames (there is no way back: its app reads envelopes).
    func enableEnvelopes() {
        guard !self.envelopeMode else { return }
        self.envelopeMode = true
        self.envelopes.clientStarted()
    }

    /// Called once when the connection ends.
    func ended() {
        if self.envelopeMode {
            self.envelopes.clientEnded()
        }
    }

    /// Forgets the cursors of topics the client left.
    func keepCursors(for topics: Set<String>) {
        self.cursors = self.cursors.filter { topics.contains($0.key) }
    }

    /// A live message.
    func receive(_ message: PublishedMessage) {
        guard self.envelopeMode else {
            return self.outbound.send(message.frame)
        }
        if let position = message.position {
            if var cursor = self.cursors[message.topic], cursor.epoch == position.epoch {
                guard position.offset > cursor.last else { return }   // already sent by a replay
                cursor.last = position.offset
                cursor.firstLive = cursor.firstLive ?? position.offset
                self.cursors[message.topic] = cursor
            } else {
                self.cursors[message.topic] = Cursor(epoch: position.epoch, firstLive: position.offset, last: position.offset)
            }
        }
        self.outbound.send(message.envelopeFrame)
    }

    /// Sends what `replay` holds that this client has not had, then the `recovered` notice.
    /// Runs on the event loop between two live deliveries, so the replay and the live stream
    /// neither overlap nor leave a gap.
    func resume(topic: String, replay: Replay<PublishedMessage>) {
        let position = replay.position
        let cursor = self.cursors[topic].flatMap { $0.epoch == position.epoch ? $0 : nil }
        var missed = 0
        for entry in replay.entries {
            // Offsets from the first live one on were sent live already.
            if let firstLive = cursor?.firstLive, entry.offset >= firstLive { break }
            let stored = entry.payload
            self.outbound.send(
                EnvelopeFrame.encode(
                    topic: topic, position: StreamPosition(epoch: position.epoch, offset: entry.offset), userID: stored.userID, message: stored.message
                )
            )
            missed += 1
        }
        if cursor?.firstLive == nil, !position.epoch.isEmpty {
            // Everything up to the stream's position was replayed (or is lost): live copies of it are duplicates.
            self.cursors[topic] = Cursor(epoch: position.epoch, firstLive: nil, last: position.offset)
        }
        self.outbound.send(
            EnvelopeFrame.notice(
                EnvelopeFrame.Recovered(
                    topic: topic, recovered: replay.recovered, missed: missed,
                    epoch: position.epoch.isEmpty ? nil : position.epoch, offset: position.epoch.isEmpty ? nil : position.offset
                )
            )
        )
    }
}
