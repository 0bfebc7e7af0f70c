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
}
