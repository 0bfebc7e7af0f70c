import NIOCore
import RelayConfig
import Testing

@testable import RelayGateway

/// A subscriber on an event stream, without a socket (``EmbeddedSubscriber``): the body the
/// server writes behind the answer's head, byte for byte, as HTTP/1.1 chunks or, for HTTP/1.0,
/// as it is until the connection closes.
@Suite struct EventStreamTransportTests {
    static func relay(history: Bool = false) -> EmbeddedRelay {
        EmbeddedRelay(
            settings: EmbeddedRelay.settings {
                $0.defaultTopics = ["cats", "dogs"]
                $0.history.size = history ? 100 : 0
            })
    }

    @Test func eachMessageIsOneChunkedEvent() throws {
        let relay = Self.relay()
        let stream = try relay.subscribe(framing: .chunked)
        #expect(try stream.received().isEmpty, "nothing before the first message without history")
        #expect(relay.publish("meow") == 1)
        #expect(try stream.receivedText() == "c\r\ndata: meow\n\n\r\n")
        relay.publish(topic: "dogs", "two\nlines\r\nand\rthree")
        relay.publish("trailing\n")
        relay.publish(topic: "birds", "not followed")
        #expect(
            try stream.receivedText()
                == Self.chunk("data: two\ndata: lines\ndata: and\ndata: three\n\n") + Self.chunk("data: trailing\ndata: \n\n")
        )
        relay.publish(userID: 2, "for another user")
        relay.publish(userID: 1, "for this one")
        #expect(try stream.receivedText() == Self.chunk("data: for this one\n\n"))
    }

    /// With history on, each event's id is every topic's position on the stream (so `Last-Event-ID`
    /// resumes all of them), and the stream opens with a `subscribed` event per topic.
    @Test func withHistoryEachEventCarriesItsID() throws {
        let relay = Self.relay(history: true)
        let stream = try relay.subscribe(framing: .chunked)
        let subscribed = try stream.receivedText()
        #expect(subscribed.contains("event: subscribed\n"), "\(subscribed.debugDescription)")
        relay.publish("meow")
        relay.publish(topic: "dogs", "woof")
        let events = try stream.receivedText()
        #expect(events == Self.chunk("id: cats:e1:1,dogs:e1:0\ndata: meow\n\n") + Self.chunk("id: cats:e1:1,dogs:e1:1\ndata: woof\n\n"))
    }

    /// Unregistering ends the stream: a `close` event saying why, then the last chunk, then the connection.
    @Test func unregisterEndsTheStreamWithACloseEventAndTheLastChunk() throws {
        let relay = Self.relay()
        let stream = try relay.subscribe(framing: .chunked)
        stream.setWritable(false)
        relay.publish("queued")
        #expect(relay.relay.unregister(stream.clientID))
        relay.loop.run()
        #expect(
            try stream.receivedText() == Self.chunk("data: queued\n\n") + Self.chunk("event: close\ndata: unregistered\n\n") + "0\r\n\r\n"
        )
        #expect(stream.isClosed, "closed once written: nothing to wait for")
        #expect(relay.relay.counts.connections == 0)
    }

    @Test func aReplacedStreamEndsWithItsReason() throws {
        let relay = Self.relay()
        let first = try relay.subscribe(framing: .chunked)
        let second = try relay.subscribe(first.clientID, framing: .chunked)
        #expect(try first.receivedText() == Self.chunk("event: close\ndata: replaced by a new connection\n\n") + "0\r\n\r\n")
        #expect(first.isClosed)
        #expect(relay.publish("meow") == 1)
        #expect(try second.receivedText() == Self.chunk("data: meow\n\n"))
    }

    /// HTTP/1.0: no chunks; the body ends when the connection closes.
    @Test func http10StreamsUntilClose() throws {
        let relay = Self.relay()
        let stream = try relay.subscribe(framing: .untilClose)
        relay.publish("plain")
        #expect(try stream.receivedText() == "data: plain\n\n")
        relay.relay.unregister(stream.clientID)
        relay.loop.run()
        #expect(try stream.receivedText() == "event: close\ndata: unregistered\n\n")
        #expect(stream.isClosed)
    }

    /// What a client sends on an event stream means nothing: it is dropped.
    @Test func whatTheClientSendsIsIgnored() throws {
        let relay = Self.relay()
        let stream = try relay.subscribe(framing: .chunked)
        try stream.send(Array("ping\r\nGET /health HTTP/1.1\r\n\r\n".utf8))
        try stream.send(HostileClientTests.frame(opcode: 0x1, payload: Array(#"{"topics": ["birds"]}"#.utf8)))
        #expect(try stream.received().isEmpty)
        #expect(!stream.isClosed)
        #expect(relay.relay.registration(stream.clientID)?.topics == ["cats", "dogs"])
    }

    @Test func aSlowStreamIsEndedWithACloseEvent() throws {
        let relay = EmbeddedRelay(settings: EmbeddedRelay.settings { $0.sendQueue = 4 })
        let stream = try relay.subscribe(framing: .chunked)
        stream.setWritable(false)
        for index in 0..<10 {
            relay.publish("\(index)")
        }
        #expect(try stream.receivedText() == Self.chunk("event: close\ndata: slow consumer\n\n") + "0\r\n\r\n")
        #expect(stream.isClosed)
    }

    /// `text` as one HTTP/1.1 chunk.
    static func chunk(_ text: String) -> String {
        String(text.utf8.count, radix: 16) + "\r\n" + text + "\r\n"
    }
}
