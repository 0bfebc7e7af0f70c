import NIOCore
import RelayCore

extension SubscriberFeed {
    /// Replays what the client missed of each topic since the position it gives, then sends one
    /// `recovered` notice per topic. Must run on the event loop, after the client's topics are set.
    ///
    /// - Parameters:
    ///   - topics: the client's topics; a position for any other topic gets an error frame.
    ///   - history: nil when history is off: every topic is then `recovered: false`.
    func resume(
        _ requests: [(topic: String, position: StreamPosition)],
        topics: Set<String>,
        userID: Int,
        history: TopicHistory<PublishedMessage>?
    ) {
        guard !requests.isEmpty else { return }
        if self.outbound.transport == .webSocket {
            self.enableEnvelopes()
        }
        for (topic, since) in requests {
            guard topics.contains(topic) else {
                self.tell("cannot resume \"\(topic)\": not subscribed to it", isError: true)
                continue
            }
            let replay =
                history?.replay(topic: topic, since: since, forUser: userID)
                ?? Replay(recovered: false, entries: [], position: StreamPosition(epoch: "", offset: 0))
            self.resume(topic: topic, replay: replay)
        }
    }

    /// Tells an envelope client (or an event stream) where each of `topics` stands (a `subscribed`
    /// notice), so it can resume even a topic it never received anything on. Does nothing with
    /// history off, or on a WebSocket outside envelope mode.
    func announce(_ topics: some Sequence<String>, history: TopicHistory<PublishedMessage>?) {
        guard self.envelopeMode || self.outbound.transport != .webSocket, let history else { return }
        for topic in topics.sorted() {
            let position = history.openStream(topic)
            self.announced(topic, at: position)
            self.notice("subscribed", EnvelopeFrame.Subscribed(topic: topic, epoch: position.epoch, offset: position.offset))
        }
    }
}
