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
        self.enableEnvelopes()
        for (topic, since) in requests {
            guard topics.contains(topic) else {
                self.outbound.send(ServerFrame.text(JSONResponse.errorText("cannot resume \"\(topic)\": not subscribed to it")))
                continue
            }
            let replay =
                history?.replay(topic: topic, since: since, forUser: userID)
                ?? Replay(recovered: false, entries: [], position: StreamPosition(epoch: "", offset: 0))
            self.resume(topic: topic, replay: replay)
        }
    }

    /// Tells an envelope client where each of `topics` stands (a `subscribed` notice), so it can
    /// resume even a topic it never received anything on. Does nothing with history off or
    /// outside envelope mode.
    func announce(_ topics: some Sequence<String>, history: TopicHistory<PublishedMessage>?) {
        guard self.envelopeMode, let history else { return }
        for topic in topics.sorted() {
            let position = history.openStream(topic)
            self.outbound.send(EnvelopeFrame.notice(EnvelopeFrame.Subscribed(topic: topic, epoch: position.epoch, offset: position.offset)))
        }
    }
}
