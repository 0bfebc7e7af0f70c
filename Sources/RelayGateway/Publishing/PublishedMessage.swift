import NIOCore
import RelayCore

/// One publish as every recipient gets it: the text frame encoded once and shared, and, for
/// clients in envelope mode, the envelope frame, also encoded once.
///
/// A class, so handing it to a thousand recipients costs a thousand retains of one object.
public final class PublishedMessage: Sendable {
    let topic: String
    let userID: Int?
    let message: String
    /// Its place in the topic's history; nil when history is off.
    let position: StreamPosition?
    /// The seed-compatible frame: the message itself.
    let frame: ByteBuffer
    /// `{"topic","offset","epoch","user_id"?,"message"}`; nil when no client wanted envelopes at
    /// publish time (a client that turns envelopes on meanwhile encodes its own).
    let envelope: ByteBuffer?
    /// Its `data:` lines for event streams (``EventStreamFrame/data(_:)``); nil when no event
    /// stream was open at publish time.
    let eventData: ByteBuffer?

    /// - Parameter frame: the message's text frame, when it is already encoded.
    init(
        topic: String, userID: Int?, message: String, position: StreamPosition?, frame: ByteBuffer? = nil, withEnvelope: Bool,
        withEventData: Bool = false
    ) {
        self.topic = topic
        self.userID = userID
        self.message = message
        self.position = position
        self.frame = frame ?? ServerFrame.text(message)
        self.envelope = withEnvelope ? EnvelopeFrame.encode(topic: topic, position: position, userID: userID, message: message) : nil
        self.eventData = withEventData ? EventStreamFrame.data(message) : nil
    }

    /// The same message at `position`, sharing its encoded text frame.
    convenience init(_ stored: PublishedMessage, at position: StreamPosition, withEnvelope: Bool, withEventData: Bool = false) {
        self.init(
            topic: stored.topic, userID: stored.userID, message: stored.message, position: position, frame: stored.frame,
            withEnvelope: withEnvelope, withEventData: withEventData
        )
    }

    /// The event-stream `data:` lines, encoding them now if they were not at publish time.
    var eventStreamData: ByteBuffer {
        self.eventData ?? EventStreamFrame.data(self.message)
    }

    /// The envelope frame, encoding it now if it was not at publish time.
    var envelopeFrame: ByteBuffer {
        self.envelope ?? EnvelopeFrame.encode(topic: self.topic, position: self.position, userID: self.userID, message: self.message)
    }

    /// What it costs to keep in history.
    var byteCount: Int {
        self.frame.readableBytes + (self.envelope?.readableBytes ?? 0) + self.topic.utf8.count
    }
}
