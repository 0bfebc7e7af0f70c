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

    /// Publishes `batch` in its order as the `publish` handler does (validate it first: nothing
    /// checks it here), every message counted as one publish; repeats of an idempotency key are
    /// answered as duplicates and not delivered. In a cluster the batch is one append to the bus.
    /// `answer` turns the receipts, in the batch's order, into the response.
    public func publish(
        _ batch: [PublishRequest], on eventLoop: any EventLoop,
        answer: @escaping @Sendable ([PublishReceipt]) -> Response = HandlerEnvironment.batchAnswer
    ) -> Reply {
        let metrics = self.metrics
        let start = ContinuousClock.now
        if let receipts = self.bus.publishImmediately(batch) {
            metrics.counted(receipts, since: start)
            return .now(answer(receipts))
        }
        let bus = self.bus
        return .async(on: eventLoop) {
            let receipts: [PublishReceipt]
            do {
                receipts = try await bus.publish(batch)
            } catch {
                throw HTTPError.clusterUnavailable(error)
            }
            metrics.counted(receipts, since: start)
            return answer(receipts)
        }
    }

    /// `{"recipients": N}`, with `"offset": n` (the message's place in its topic) when history is
    /// on, and `"duplicate": true` for a repeat of an idempotency key (not delivered again; the
    /// offset is the first copy's).
    @Sendable public static func receiptAnswer(_ receipt: PublishReceipt) -> Response {
        // Written by hand, straight into the buffer: the hot path's answer, too simple for a
        // JSONEncoder; the commonest one (no recipients, no history) is made once.
        if receipt.recipients == 0, receipt.position == nil, !receipt.duplicate {
            return Response.json(.ok, Self.noRecipients)
        }
        var body = ByteBuffer()
        body.reserveCapacity(64)
        body.writeStaticString(#"{"recipients":"#)
        body.writeString(String(receipt.recipients))
        if let position = receipt.position {
            body.writeStaticString(#","offset":"#)
            body.writeString(String(position.offset))
        }
        if receipt.duplicate {
            body.writeStaticString(#","duplicate":true"#)
        }
        body.writeStaticString("}")
        return Response.json(.ok, body)
    }

    private static let noRecipients = ByteBuffer(string: #"{"recipients":0}"#)

    /// `{"recipients": TOTAL, "results": [{"recipients": N, "offset"?: n, "duplicate"?: true}, ...]}`,
    /// a result per message in the batch's order.
    @Sendable public static func batchAnswer(_ receipts: [PublishReceipt]) -> Response {
        var json = #"{"recipients":\#(receipts.reduce(0) { $0 + $1.recipients }),"results":["#
        json.reserveCapacity(json.utf8.count + receipts.count * 40)
        for (index, receipt) in receipts.enumerated() {
            json += index == 0 ? "{" : ",{"
            json += Self.fields(of: receipt)
            json += "}"
        }
        json += "]}"
        return Response.json(.ok, ByteBuffer(string: json))
    }

    private static func fields(of receipt: PublishReceipt) -> String {
        let offset = receipt.position.map { #","offset":\#($0.offset)"# } ?? ""
        return #""recipients":\#(receipt.recipients)\#(offset)"# + (receipt.duplicate ? #","duplicate":true"# : "")
    }
}

extension RelayMetrics {
    /// One publish done: its enqueue time and its recipients.
    func counted(_ receipt: PublishReceipt, since start: ContinuousClock.Instant) {
        self.recordPublishEnqueue(ContinuousClock.now - start)
        self.published(recipients: receipt.recipients)
    }

    /// A batch done: one enqueue time, and each message that was delivered (not a duplicate) as a publish.
    func counted(_ receipts: [PublishReceipt], since start: ContinuousClock.Instant) {
        self.recordPublishEnqueue(ContinuousClock.now - start)
        for receipt in receipts where !receipt.duplicate {
            self.published(recipients: receipt.recipients)
        }
    }
}
