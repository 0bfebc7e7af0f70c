import NIOCore
import RelayCore
import RelayHTTP

extension HandlerEnvironment {
    /// Publishes `message` to the subscribers of `topic` (of `userID` only, when given) as the
    /// `publish` handler does, counted in the same metrics (`relay_publishes_total`,
    /// `relay_deliveries_total`, the enqueue histogram, `stats`): answered at once on a single
    /// node, after the cluster's bus accepted it in a cluster (503 when it cannot be reached).
    /// Validate the topic first (`TopicRules`); `answer` turns the receipt into the response.
    ///
    /// ```swift
    /// return environment.publish(topic: topic, userID: nil, message: text, on: context.eventLoop)
    /// ```
    public func publish(
        topic: String, userID: Int?, message: String, on eventLoop: any EventLoop,
        answer: @escaping @Sendable (PublishReceipt) -> Response = HandlerEnvironment.receiptAnswer
    ) -> Reply {
        let metrics = self.metrics
        let start = ContinuousClock.now
        if let receipt = self.bus.publishImmediately(topic: topic, userID: userID, message: message) {
            metrics.counted(receipt, since: start)
            return .now(answer(receipt))
        }
        let bus = self.bus
        return .async(on: eventLoop) {
            let receipt: PublishReceipt
            do {
                receipt = try await bus.publish(topic: topic, userID: userID, message: message)
            } catch {
                throw HTTPError.clusterUnavailable(error)
            }
            metrics.counted(receipt, since: start)
            return answer(receipt)
        }
    }

    /// `{"recipients": N}`, with `"offset": n` (the message's place in its topic) when history is on.
    @Sendable public static func receiptAnswer(_ receipt: PublishReceipt) -> Response {
        // Written by hand: the hot path's answer, too simple for a JSONEncoder.
        let offset = receipt.position.map { #","offset":\#($0.offset)"# } ?? ""
        return Response.json(.ok, ByteBuffer(string: #"{"recipients":\#(receipt.recipients)\#(offset)}"#))
    }
}

extension RelayMetrics {
    /// One publish done: its enqueue time and its recipients.
    func counted(_ receipt: PublishReceipt, since start: ContinuousClock.Instant) {
        self.recordPublishEnqueue(ContinuousClock.now - start)
        self.published(recipients: receipt.recipients)
    }
}
