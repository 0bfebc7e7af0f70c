import NIOCore
import RelayCore
import RelayHTTP

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
    private let envelopes: ClientDemand
    private(set) var envelopeMode = false
    private var cursors: [String: Cursor] = [:]
    /// Event streams only: where each topic stood when the stream opened (until a message of it
    /// arrives), so the first event ids let a client resume every topic.
    private var announced: [String: StreamPosition] = [:]
    /// The open event streams' count, for an event stream; nil on a WebSocket.
    private let eventStreams: ClientDemand?
    /// On an event stream, whether its events go as HTTP/1.1 chunks; nil on a WebSocket.
    private var chunkedEvents: Bool? {
        guard case .eventStream(let chunked) = self.outbound.transport else { return nil }
        return chunked
    }

    init(outbound: SubscriberOutbound, envelopes: ClientDemand, eventStreams: ClientDemand? = nil) {
        self.outbound = outbound
        self.envelopes = envelopes
        if case .eventStream = outbound.transport, let eventStreams {
            self.eventStreams = eventStreams
            eventStreams.clientStarted()
        } else {
            self.eventStreams = nil
        }
    }

    /// Whether positions are tracked and sent: envelope mode, or an event stream (its ids).
    private var tracksPositions: Bool { self.envelopeMode || self.chunkedEvents != nil }

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
        self.eventStreams?.clientEnded()
    }

    /// Forgets the cursors of topics the client left.
    func keepCursors(for topics: Set<String>) {
        self.cursors = self.cursors.filter { topics.contains($0.key) }
    }

    /// A live message.
    func receive(_ message: PublishedMessage) {
        guard self.tracksPositions else {
            return self.outbound.send(message.frame)
        }
        if let position = message.position {
            if var cursor = self.cursors[message.topic], cursor.epoch == position.epoch {
                guard position.offset > cursor.last else { return }  // already sent by a replay
                cursor.last = position.offset
                cursor.firstLive = cursor.firstLive ?? position.offset
                self.cursors[message.topic] = cursor
            } else {
                self.cursors[message.topic] = Cursor(epoch: position.epoch, firstLive: position.offset, last: position.offset)
            }
        }
        guard let chunked = self.chunkedEvents else {
            return self.outbound.send(message.envelopeFrame)
        }
        self.outbound.send(
            EventStreamFrame.event(
                id: self.eventID(), name: nil, data: message.eventStreamData, chunked: chunked
            )
        )
    }

    /// An event stream's id for its next event: every topic's position (``EventStreamFrame/id(_:)``),
    /// `topic` at `offset` when given (a replay under way).
    private func eventID(replaying topic: String? = nil, at position: StreamPosition? = nil) -> String? {
        var positions: [String: StreamPosition] = self.announced
        for (name, cursor) in self.cursors {
            positions[name] = StreamPosition(epoch: cursor.epoch, offset: cursor.last)
        }
        if let topic, let position {
            positions[topic] = position
        }
        return EventStreamFrame.id(positions.map { ($0.key, $0.value) })
    }

    /// A message replayed from history, in this client's form.
    private func replayed(topic: String, position: StreamPosition, stored: PublishedMessage) -> ByteBuffer {
        guard let chunked = self.chunkedEvents else {
            return EnvelopeFrame.encode(topic: topic, position: position, userID: stored.userID, message: stored.message)
        }
        return EventStreamFrame.event(
            id: self.eventID(replaying: topic, at: position), name: nil, data: stored.eventStreamData, chunked: chunked
        )
    }

    /// A notice (`recovered`, `subscribed`): an envelope frame `{"type": name, ...}`, or an event
    /// named `name` whose data is the same JSON and whose id includes what it announces.
    func notice(_ name: String, _ value: some Encodable) {
        guard let chunked = self.chunkedEvents else {
            return self.outbound.send(EnvelopeFrame.notice(value))
        }
        self.outbound.send(EventStreamFrame.notice(name, value, id: self.eventID(), chunked: chunked))
    }

    /// Something the server did or refused that the client did not ask for, as `{"error": ...}`
    /// (`error`) or `{"notice": ...}`: a text frame, or an event named `notice`.
    func tell(_ message: String, isError: Bool) {
        let json = isError ? JSONResponse.errorText(message) : #"{"notice":\#(JSONString.quoted(message))}"#
        guard let chunked = self.chunkedEvents else {
            return self.outbound.send(ServerFrame.text(json))
        }
        self.outbound.send(
            EventStreamFrame.event(id: nil, name: "notice", data: EventStreamFrame.data(json), chunked: chunked)
        )
    }

    /// Event streams: where `topic` stands as the stream opens, for the ids until its first message.
    func announced(_ topic: String, at position: StreamPosition) {
        guard self.chunkedEvents != nil, self.cursors[topic] == nil else { return }
        self.announced[topic] = position
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
            self.outbound.send(
                self.replayed(topic: topic, position: StreamPosition(epoch: position.epoch, offset: entry.offset), stored: entry.payload))
            missed += 1
        }
        if cursor?.firstLive == nil, !position.epoch.isEmpty {
            // Everything up to the stream's position was replayed (or is lost): live copies of it are duplicates.
            self.cursors[topic] = Cursor(epoch: position.epoch, firstLive: nil, last: position.offset)
        }
        self.notice(
            "recovered",
            EnvelopeFrame.Recovered(
                topic: topic, recovered: replay.recovered, missed: missed,
                epoch: position.epoch.isEmpty ? nil : position.epoch, offset: position.epoch.isEmpty ? nil : position.offset
            )
        )
    }
}
