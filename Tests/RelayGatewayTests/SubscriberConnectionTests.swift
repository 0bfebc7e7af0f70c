import Foundation
import NIOCore
import RelayConfig
import RelayCore
import Testing

@testable import RelayGateway

/// One subscriber connection on a WebSocket, without a socket (``EmbeddedSubscriber``): its
/// commands, what it is sent, its send queue when the channel is not writable, and how the server
/// ends it.
@Suite struct SubscriberConnectionTests {
    static func relay(_ change: (inout RelaySettings) -> Void = { _ in }) -> EmbeddedRelay {
        EmbeddedRelay(
            settings: EmbeddedRelay.settings {
                $0.maxTopicsPerClient = 3
                $0.maxTopicLength = 10
                change(&$0)
            })
    }

    // MARK: Commands

    @Test func pingIsAnsweredWithPong() throws {
        let relay = Self.relay()
        let subscriber = try relay.subscribe()
        try subscriber.send(text: "ping")
        try subscriber.send(text: "  ping\n")
        #expect(try subscriber.texts() == ["pong", "pong"])
    }

    @Test func aTopicListReplacesTheTopics() throws {
        let relay = Self.relay()
        let subscriber = try relay.subscribe()
        #expect(relay.publish("before") == 1)
        try subscriber.send(text: #"{"topics": ["dogs", "birds"]}"#)
        #expect(relay.relay.registration(subscriber.clientID)?.topics == ["dogs", "birds"])
        #expect(relay.publish("not any more") == 0)
        #expect(relay.publish(topic: "dogs", "woof") == 1)
        #expect(relay.publish(topic: "birds", "tweet") == 1)
        #expect(try subscriber.texts() == ["before", "woof", "tweet"])
        try subscriber.send(text: #"{"topics": []}"#)
        #expect(relay.publish(topic: "dogs", "gone") == 0)
        #expect(try subscriber.received().isEmpty)
    }

    /// Every refusal is one `{"error": ...}` frame; the connection stays, and its topics are unchanged.
    @Test func badCommandsGetOneErrorFrameAndTheConnectionStays() throws {
        let relay = Self.relay()
        let subscriber = try relay.subscribe()
        let bad: [(command: String, error: String)] = [
            ("hello", "unknown command: \(ClientCommand.usage)"),
            ("{", "malformed JSON"),
            (#"{"topics": "cats"}"#, #""topics" must be a list of strings"#),
            (#"{"topics": [1, 2]}"#, #""topics" must be a list of strings"#),
            (#"{"nope": []}"#, #"missing "topics": send {"topics": ["..."]}"#),
            ("[]", "unknown command: \(ClientCommand.usage)"),
            (#"{"envelope": "yes"}"#, #""envelope" must be true or false"#),
            (#"{"token": 1}"#, #""token" must be a string"#),
            (#"{"token": "abc"}"#, "this connection was not opened with a token to renew"),
        ]
        for (command, _) in bad {
            try subscriber.send(text: command)
        }
        for command in [#"{"topics": ["a", "b", "c", "d"]}"#, #"{"topics": [""]}"#, #"{"topics": ["waytoolongtopic"]}"#] {
            try subscriber.send(text: command)
        }
        try subscriber.send(text: "ping")
        let replies = try subscriber.texts()
        #expect(replies.count == bad.count + 4)
        for (reply, (command, error)) in zip(replies, bad) {
            #expect(reply == JSONResponse.errorText(error), "\(command)")
        }
        for reply in replies.dropFirst(bad.count).dropLast() {
            #expect(reply.hasPrefix(#"{"error":"#), "\(reply)")
        }
        #expect(replies.last == "pong")
        #expect(relay.relay.registration(subscriber.clientID)?.topics == ["cats"])
        #expect(relay.publish("meow") == 1)
        #expect(!subscriber.isClosed)
    }

    @Test func topicFloodsAreAbsorbedAndTheLastListWins() throws {
        let relay = Self.relay()
        let subscriber = try relay.subscribe()
        for index in 0..<2000 {
            try subscriber.send(text: #"{"topics": ["t\#(index % 50)", "u\#(index % 7)"]}"#)
        }
        try subscriber.send(text: #"{"topics": ["final"]}"#)
        try subscriber.send(text: "ping")
        #expect(try subscriber.texts() == ["pong"])
        #expect(relay.relay.topicSubscriberCounts() == ["final": 1])
        #expect(relay.publish(topic: "final", "x") == 1)
    }

    // MARK: What it is sent

    /// Without envelopes a message is its own text frame, byte for byte the frame the publish encoded once.
    @Test func messagesArriveAsRawTextFrames() throws {
        let relay = Self.relay()
        let subscriber = try relay.subscribe()
        let other = try relay.subscribe(relay.relay.register(userID: 2).id)
        #expect(relay.publish(#"{"not": "parsed"}"#) == 2)
        #expect(relay.publish(userID: 1, "for user 1") == 1)
        #expect(relay.publish(String(repeating: "x", count: 70_000)) == 2)
        let bytes = try subscriber.received()
        let frames = WebSocketServerFrame.parse(bytes)
        #expect(frames.map(\.opcode) == [.text, .text, .text])
        #expect(frames.allSatisfy { $0.fin })
        #expect(frames.map(\.text).prefix(2) == [#"{"not": "parsed"}"#, "for user 1"])
        #expect(frames.last?.payload.count == 70_000)
        #expect(Array(bytes.prefix(19)) == Array(ServerFrame.text(#"{"not": "parsed"}"#).readableBytesView))
        #expect(try other.texts().count == 2)
    }

    @Test func envelopeModeFromTheURLWrapsEachMessage() throws {
        let relay = EmbeddedRelay(settings: EmbeddedRelay.settings { $0.history.size = 10 })
        let subscriber = try relay.subscribe(options: SubscribeOptions(envelope: true))
        let subscribed = try subscriber.texts()
        #expect(subscribed == [#"{"epoch":"e1","offset":0,"topic":"cats","type":"subscribed"}"#])
        relay.publish(userID: 1, "meow")
        relay.publish("purr")
        let envelopes = try subscriber.texts().map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(envelopes.count == 2)
        #expect(envelopes.first?["topic"] as? String == "cats")
        #expect(envelopes.first?["message"] as? String == "meow")
        #expect(envelopes.first?["user_id"] as? Int == 1)
        #expect(envelopes.first?["offset"] as? Int == 1)
        #expect(envelopes.first?["epoch"] as? String == "e1")
        #expect(envelopes.last?["offset"] as? Int == 2)
        #expect(envelopes.last?["user_id"] == nil)
    }

    @Test func envelopeModeByCommandAnnouncesTheTopicsAndCannotBeTurnedOff() throws {
        let relay = EmbeddedRelay(settings: EmbeddedRelay.settings { $0.history.size = 10 })
        let subscriber = try relay.subscribe()
        relay.publish("raw")
        #expect(try subscriber.texts() == ["raw"])
        try subscriber.send(text: #"{"envelope": true, "topics": ["cats", "dogs"]}"#)
        #expect(
            try subscriber.texts() == [
                #"{"epoch":"e1","offset":1,"topic":"cats","type":"subscribed"}"#, #"{"epoch":"e1","offset":0,"topic":"dogs","type":"subscribed"}"#,
            ]
        )
        relay.publish(topic: "dogs", "woof")
        #expect(try subscriber.texts().first?.contains(#""message":"woof""#) == true)
        try subscriber.send(text: #"{"envelope": false}"#)
        #expect(try subscriber.texts() == [JSONResponse.errorText("envelope mode cannot be turned off on a connection")])
    }

    // MARK: Slow consumers

    /// While the channel is not writable, frames wait; once it is, they go out in order.
    @Test func framesWaitWhileTheChannelIsNotWritable() throws {
        let relay = Self.relay()
        let subscriber = try relay.subscribe()
        subscriber.setWritable(false)
        for index in 0..<5 {
            relay.publish("\(index)")
        }
        #expect(try subscriber.received().isEmpty)
        subscriber.setWritable(true)
        #expect(try subscriber.texts() == ["0", "1", "2", "3", "4"])
        #expect(!subscriber.isClosed)
    }

    /// `slow_consumer: close`: past `send_queue` messages (or `send_queue_bytes`), the waiting
    /// frames are dropped and the connection ends with 1008 "slow consumer"; others are not held up.
    @Test(arguments: [false, true])
    func closePolicyEndsTheSlowReaderAndOthersGetEverything(byBytes: Bool) throws {
        let relay = Self.relay {
            $0.slowConsumer = .close
            if byBytes { $0.sendQueueBytes = 1000 } else { $0.sendQueue = 8 }
        }
        let slow = try relay.subscribe()
        let fast = try relay.subscribe(relay.relay.register(userID: 2).id)
        slow.setWritable(false)
        let payload = String(repeating: "x", count: 100)
        var sentTo: [Int] = []
        for index in 0..<20 {
            sentTo.append(relay.publish("\(index) \(payload)"))
        }
        #expect(try fast.texts().count == 20)
        #expect(relay.relay.counts.connections == 1, "the slow reader is detached at once")
        #expect(sentTo.last == 1)
        let frames = try slow.frames()
        #expect(frames.map(\.opcode) == [.connectionClose], "what waited is dropped, the close frame goes out")
        #expect(frames.first?.closeCode == 1008)
        #expect(frames.first?.closeReason == "slow consumer")
    }

    /// `slow_consumer: drop_oldest`: the queue keeps the newest messages within its bounds, and the
    /// connection stays.
    @Test(arguments: [false, true])
    func dropOldestKeepsTheNewestWithinTheBound(byBytes: Bool) throws {
        let relay = Self.relay {
            $0.slowConsumer = .dropOldest
            // Eight messages of 104 bytes (with their frame header) fit either bound.
            if byBytes { $0.sendQueueBytes = 8 * 104 } else { $0.sendQueue = 8 }
        }
        let slow = try relay.subscribe()
        slow.setWritable(false)
        let payload = String(repeating: "x", count: 100)
        for index in 10..<30 {
            relay.publish("\(index)\(payload)")
        }
        #expect(relay.relay.counts.connections == 1)
        slow.setWritable(true)
        let texts = try slow.texts()
        #expect(texts.map { $0.prefix(2) } == (22..<30).map { "\($0)"[...] })
        #expect(!slow.isClosed)
        relay.publish("live")
        #expect(try slow.texts() == ["live"])
    }

    // MARK: The server's end

    /// Unregistering ends the connection after what waited: 1000 "unregistered", then the server
    /// waits for the client's close frame and closes once it comes.
    @Test func unregisterClosesWith1000AfterTheQueuedFrames() throws {
        let relay = Self.relay()
        let subscriber = try relay.subscribe()
        subscriber.setWritable(false)
        relay.publish("one")
        relay.publish("two")
        #expect(relay.relay.unregister(subscriber.clientID))
        relay.loop.run()
        let frames = try subscriber.frames()
        #expect(frames.map(\.opcode) == [.text, .text, .connectionClose])
        #expect(frames.prefix(2).map(\.text) == ["one", "two"])
        #expect(frames.last?.closeCode == 1000)
        #expect(frames.last?.closeReason == "unregistered")
        #expect(!subscriber.isClosed, "open until the client answers")
        try subscriber.send(WebSocketTransportTests.close(1000))
        #expect(try subscriber.received().isEmpty, "the server's close is not answered again")
        #expect(subscriber.isClosed)
    }

    @Test func aClientThatNeverAnswersTheServersCloseIsDroppedAfterTheTimeout() throws {
        let relay = Self.relay()
        let subscriber = try relay.subscribe()
        relay.relay.unregister(subscriber.clientID)
        relay.loop.run()
        #expect(try subscriber.frames().first?.closeCode == 1000)
        subscriber.advance(by: SubscriberConnection.closeTimeout - .milliseconds(1))
        #expect(!subscriber.isClosed)
        subscriber.advance(by: .milliseconds(1))
        #expect(subscriber.isClosed)
    }

    @Test func aSecondConnectionReplacesTheFirst() throws {
        let relay = Self.relay()
        let first = try relay.subscribe()
        let second = try relay.subscribe(first.clientID)
        let frames = try first.frames()
        #expect(frames.map(\.closeCode) == [1000])
        #expect(frames.first?.closeReason == "replaced by a new connection")
        #expect(relay.publish("meow") == 1)
        #expect(try second.texts() == ["meow"])
        #expect(try first.received().isEmpty)
        #expect(relay.relay.counts.connections == 1)
    }

    @Test func anUnknownClientIsEndedWith1008() throws {
        let relay = Self.relay()
        let subscriber = try relay.subscribe(ClientID.random())
        let frames = try subscriber.frames()
        #expect(frames.map(\.closeCode) == [1008])
        #expect(frames.first?.closeReason == "unknown client id")
        #expect(relay.relay.counts.connections == 0)
    }

    @Test func aClientThatGoesAwayIsDetachedAndItsRegistrationStays() throws {
        let relay = Self.relay()
        let subscriber = try relay.subscribe()
        #expect(relay.relay.counts.connections == 1)
        try subscriber.disconnect()
        #expect(relay.relay.counts.connections == 0)
        #expect(relay.relay.counts.registrations == 1)
        #expect(relay.publish("meow") == 0)
    }
}
