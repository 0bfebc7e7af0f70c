import NIOCore
import RelayCore
import RelayHTTP

/// What one subscriber is sent, on its event loop: plain messages (the seed's format) or, in
/// envelope mode, envelopes; and, after a resume, the missed messages first, each exactly once.
///
/// While positions are tracked (envelope mode, or a transport whose events carry them) it
/// remembers per topic the offsets it has sent (a ``Cursor``), so a message that arrives live
/// after it was already replayed is not sent twice.
extension SubscriberConnection {
    /// What this client was sent of one topic's stream.
    struct Cursor {
        var epoch: String
        /// The first offset that arrived live, if any did.
        var firstLive: UInt64?
        /// The highest offset sent (or covered by a replay).
        var last: UInt64
    }

    /// Whether positions are tracked and sent.
    private var tracksPositions: Bool { self.envelopeMode || self.transportCarriesPositions }

    /// Switches this client to envelope frames (there is no way back: its app reads envelopes).
    func enableEnvelopes() {
        guard !self.envelopeMode else { return }
        self.envelopeMode = true
        self.hub.envelopes.clientStarted()
    }

    /// Forgets the cursors of topics the client left.
    func keepCursors(for topics: Set<String>) {
        self.cursors = self.cursors.filter { topics.contains($0.key) }
    }

    /// A live message.
    func receive(_ message: PublishedMessage) {
        guard self.tracksPositions else {
            return self.write(message.frame)
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
        self.write(self.transport.message(message, envelope: self.envelopeMode, id: self.positionsID()))
    }

    /// Every topic's position, as an event id (``EventStreamFrame/id(_:)``), for transports that
    /// carry them; `topic` at `position` when given (a replay under way).
    private func positionsID(replaying topic: String? = nil, at position: StreamPosition? = nil) -> String? {
        guard self.transportCarriesPositions else { return nil }
        var positions: [String: StreamPosition] = self.announced
        for (name, cursor) in self.cursors {
            positions[name] = StreamPosition(epoch: cursor.epoch, offset: cursor.last)
        }
        if let topic, let position {
            positions[topic] = position
        }
        return EventStreamFrame.id(positions.map { ($0.key, $0.value) })
    }

    /// A notice (`recovered`, `subscribed`) in the transport's form.
    func notice(_ name: String, _ value: some Encodable) {
        self.write(self.transport.notice(name, value, id: self.positionsID()))
    }

    /// Something the server did or refused that the client did not ask for, as `{"error": ...}`
    /// (`isError`) or `{"notice": ...}`.
    func tell(_ message: String, isError: Bool) {
        let json = isError ? JSONResponse.errorText(message) : #"{"notice":\#(JSONString.quoted(message))}"#
        self.write(self.transport.say(json, allocator: self.allocator))
    }

    /// The answer to a command the client sent that cannot be carried out: `{"error": ...}`.
    func reply(error message: String) {
        self.tell(message, isError: true)
    }

    var allocator: ByteBufferAllocator {
        self.context?.channel.allocator ?? ByteBufferAllocator()
    }

    // MARK: Resuming

    /// Replays what the client missed of each topic since the position it gives, then sends one
    /// `recovered` notice per topic. Must run on the event loop, after the client's topics are set.
    ///
    /// - Parameter topics: the client's topics; a position for any other topic gets an error.
    ///   With history off every topic is `recovered: false`.
    func resume(_ requests: [(topic: String, position: StreamPosition)], topics: Set<String>, userID: Int) {
        guard !requests.isEmpty else { return }
        if self.transport.takesCommands {
            self.enableEnvelopes()
        }
        for (topic, since) in requests {
            guard topics.contains(topic) else {
                self.tell("cannot resume \"\(topic)\": not subscribed to it", isError: true)
                continue
            }
            let replay =
                self.hub.history?.replay(topic: topic, since: since, forUser: userID)
                ?? Replay(recovered: false, entries: [], position: StreamPosition(epoch: "", offset: 0))
            self.resume(topic: topic, replay: replay)
        }
    }

    /// Tells an envelope client (or a transport that carries positions) where each of `topics`
    /// stands (a `subscribed` notice), so it can resume even a topic it never received anything
    /// on. Does nothing with history off, or on a plain WebSocket.
    func announce(_ topics: some Sequence<String>) {
        guard self.tracksPositions, let history = self.hub.history else { return }
        for topic in topics.sorted() {
            let position = history.openStream(topic)
            if self.transportCarriesPositions, self.cursors[topic] == nil {
                // Its position until a message of it arrives, so the first ids let a client resume every topic.
                self.announced[topic] = position
            }
            self.notice("subscribed", EnvelopeFrame.Subscribed(topic: topic, epoch: position.epoch, offset: position.offset))
        }
    }

    /// Sends what `replay` holds that this client has not had, then the `recovered` notice.
    /// Runs on the event loop between two live deliveries, so the replay and the live stream
    /// neither overlap nor leave a gap.
    private func resume(topic: String, replay: Replay<PublishedMessage>) {
        let position = replay.position
        let cursor = self.cursors[topic].flatMap { $0.epoch == position.epoch ? $0 : nil }
        var missed = 0
        for entry in replay.entries {
            // Offsets from the first live one on were sent live already.
            if let firstLive = cursor?.firstLive, entry.offset >= firstLive { break }
            let at = StreamPosition(epoch: position.epoch, offset: entry.offset)
            self.write(self.transport.replayed(entry.payload, topic: topic, position: at, id: self.positionsID(replaying: topic, at: at)))
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
