import Foundation
import Synchronization
import Testing

/// Per-topic history, envelope mode and resume, against the real server with real WebSockets.
@Suite struct ResumeTests {
    static func yaml(size: Int = 100, extra: String = "") -> String {
        RunningGateway.seedYAML(relay: "relay:\n  history: {size: \(size), ttl: 1m\(extra)}")
    }

    /// How many publishes were answered so far.
    final class Published: Sendable {
        let count = Atomic<Int>(0)
    }

    /// One envelope frame, or a notice.
    struct Frame: Decodable, Equatable {
        var type: String?
        var topic: String?
        var offset: UInt64?
        var epoch: String?
        var user_id: Int?
        var message: String?
        var recovered: Bool?
        var missed: Int?

        init(_ text: String) throws {
            self = try JSONDecoder().decode(Frame.self, from: Data(text.utf8))
        }
    }

    static func publish(_ gateway: RunningGateway, _ message: String, topic: String = "cats", userID: Int? = nil) async throws -> UInt64 {
        let user = userID.map { #", "user_id": \#($0)"# } ?? ""
        let answer = try await HTTP.post(gateway.url("/publish"), #"{"topic": "\#(topic)", "message": "\#(message)"\#(user)}"#)
        #expect(answer.status == 200, "\(answer.body)")
        return try #require(answer.json?["offset"] as? UInt64 ?? (answer.json?["offset"] as? Int).map(UInt64.init))
    }

    /// Waits for `count` frames of `type` (nil: envelopes) and returns those.
    static func frames(_ subscriber: TestSubscriber, _ count: Int, type: String? = nil) async throws -> [Frame] {
        let matching = { @Sendable () throws -> [Frame] in try subscriber.received.map(Frame.init).filter { $0.type == type } }
        try await eventually("\(count) frames of type \(type ?? "envelope"); have \(subscriber.received)") { try matching().count >= count }
        return try matching()
    }

    /// Closes the client's connection and waits until the gateway has let it go.
    static func drop(_ subscriber: TestSubscriber, from gateway: RunningGateway) async throws {
        try await subscriber.close()
        try await eventually("the connection is gone") { gateway.gateway.relay.counts.connections == 0 }
    }

    @Test func reconnectWithSinceGetsExactlyTheMissedThenLive() async throws {
        try await RunningGateway.with(yaml: Self.yaml()) { gateway in
            let url = try await gateway.register(userID: 1)
            let first = try await TestSubscriber.connect(url + "?envelope=1")
            _ = try await Self.frames(first, 1, type: "subscribed")
            for index in 1...2 {
                #expect(try await Self.publish(gateway, "before-\(index)") == UInt64(index))
            }
            let subscribed = try await Self.frames(first, 1, type: "subscribed")
            #expect(subscribed.first?.topic == "cats" && subscribed.first?.offset == 0)
            let seen = try await Self.frames(first, 2)
            #expect(seen.map(\.message) == ["before-1", "before-2"])
            #expect(seen.first?.epoch == subscribed.first?.epoch)
            #expect(seen.map(\.offset) == [1, 2])
            #expect(seen.allSatisfy { $0.topic == "cats" && $0.epoch?.count == 8 && $0.user_id == nil })
            let epoch = try #require(seen.last?.epoch)
            try await Self.drop(first, from: gateway)

            for index in 1...5 {
                _ = try await Self.publish(gateway, "away-\(index)")
            }
            let second = try await TestSubscriber.connect(url + "?since=cats:\(epoch):2")
            let replayed = try await second.messages(6).map(Frame.init)
            #expect(replayed.prefix(5).map(\.message) == (1...5).map { "away-\($0)" })
            #expect(replayed.prefix(5).map(\.offset) == [3, 4, 5, 6, 7])
            #expect(
                replayed[5]
                    == (try Frame(#"{"type": "recovered", "topic": "cats", "recovered": true, "missed": 5, "epoch": "\#(epoch)", "offset": 7}"#)))
            #expect(try await Self.publish(gateway, "live") == 8)
            let live = try Frame(try await second.message(7))
            #expect(live.message == "live" && live.offset == 8)
        }
    }

    /// Publishing all the while a client drops and resumes, again and again: across its
    /// connections it sees every offset exactly once, in order.
    @Test func resumingUnderLoadLosesAndRepeatsNothing() async throws {
        try await RunningGateway.with(yaml: Self.yaml(size: 10_000)) { gateway in
            let url = try await gateway.register(userID: 1)
            let total = 300
            var subscriber = try await TestSubscriber.connect(url + "?envelope=1")
            // The position to resume from until a message has been seen.
            let subscribed = try #require(try await Self.frames(subscriber, 1, type: "subscribed").first)
            let published = Published()
            let publisher = Task {
                for index in 1...total {
                    _ = try await Self.publish(gateway, "m\(index)")
                    published.count.store(index, ordering: .relaxed)
                }
            }
            /// Returns once `count` more publishes were answered (or all of them were).
            func publishes(_ count: Int) async throws {
                let target = min(total, published.count.load(ordering: .relaxed) + count)
                try await eventually("\(count) more publishes", within: .seconds(20)) { published.count.load(ordering: .relaxed) >= target }
            }
            var offsets: [UInt64] = []
            var epoch = try #require(subscribed.epoch)
            for round in 0..<6 {
                // Connected while some are published, then away while more are, longer each round.
                try await publishes(10)
                try await subscriber.close()
                let frames = try subscriber.received.map(Frame.init)
                offsets += frames.compactMap { $0.type == nil ? $0.offset : nil }
                epoch = frames.compactMap(\.epoch).last ?? epoch
                let since = "?since=cats:\(epoch):\(offsets.last ?? subscribed.offset ?? 0)"
                try await publishes(round * 5)
                subscriber = try await TestSubscriber.connect(url + since)
            }
            try await publisher.value
            let last = subscriber
            // On a busy machine the publisher can finish before the last reconnect: the earlier
            // connections then saw every offset, and the last one only its `recovered` notice.
            let seenBefore = offsets.last
            try await eventually("the last offset arrives") {
                seenBefore == UInt64(total)
                    || (try? last.received.map(Frame.init).contains { $0.offset == UInt64(total) && $0.type == nil }) == true
            }
            let frames = try last.received.map(Frame.init)
            offsets += frames.compactMap { $0.type == nil ? $0.offset : nil }
            #expect(frames.filter { $0.type == "recovered" }.allSatisfy { $0.recovered == true })
            #expect(offsets == (1...UInt64(total)).map { $0 }, "offsets seen: \(offsets)")
        }
    }

    /// The `subscribed` notice gives a client that never received anything a position to resume from.
    @Test func aClientThatSawNothingResumesFromItsSubscribedNotice() async throws {
        try await RunningGateway.with(yaml: Self.yaml()) { gateway in
            let url = try await gateway.register(userID: 1)
            let first = try await TestSubscriber.connect(url + "?envelope=1")
            first.send(#"{"topics": ["cats", "quiet"]}"#)
            let notices = try await Self.frames(first, 2, type: "subscribed")
            #expect(notices.map(\.topic) == ["cats", "quiet"])
            let quiet = try #require(notices.last)
            try await Self.drop(first, from: gateway)
            _ = try await Self.publish(gateway, "q1", topic: "quiet")
            let second = try await TestSubscriber.connect(url + "?since=quiet:\(quiet.epoch!):0")
            let replayed = try await Self.frames(second, 1)
            #expect(replayed.map(\.message) == ["q1"])
            let recovered = try await Self.frames(second, 1, type: "recovered")
            #expect(recovered.first?.recovered == true && recovered.first?.missed == 1)
            // The topic it did not resume is announced instead.
            #expect(try await Self.frames(second, 1, type: "subscribed").first?.topic == "cats")
        }
    }

    @Test func anOffsetOutOfHistoryIsNotRecovered() async throws {
        try await RunningGateway.with(yaml: Self.yaml(size: 3)) { gateway in
            let url = try await gateway.register(userID: 1)
            var epoch = ""
            do {
                let first = try await TestSubscriber.connect(url + "?envelope=1")
                _ = try await Self.frames(first, 1, type: "subscribed")
                _ = try await Self.publish(gateway, "seen")
                epoch = try #require(try await Self.frames(first, 1).first?.epoch)
                try await Self.drop(first, from: gateway)
            }
            for index in 2...10 {
                _ = try await Self.publish(gateway, "m\(index)")
            }
            let second = try await TestSubscriber.connect(url + "?since=cats:\(epoch):1")
            let frames = try await second.messages(4).map(Frame.init)
            // What is still held is sent, and the notice says plainly that some was lost.
            #expect(frames.prefix(3).map(\.offset) == [8, 9, 10])
            #expect(frames[3].type == "recovered" && frames[3].recovered == false && frames[3].missed == 3)
        }
    }

    @Test func anotherEpochIsNotRecovered() async throws {
        try await RunningGateway.with(yaml: Self.yaml()) { gateway in
            let url = try await gateway.register(userID: 1)
            _ = try await Self.publish(gateway, "m1")
            let subscriber = try await TestSubscriber.connect(url + "?since=cats:0badc0de:1")
            let notice = try Frame(try await subscriber.message(1))
            #expect(notice.type == "recovered" && notice.recovered == false && notice.missed == 0)
            #expect(notice.offset == 1 && notice.epoch != "0badc0de")
        }
    }

    @Test func theResumeCommandSubscribesAndReplays() async throws {
        try await RunningGateway.with(yaml: Self.yaml()) { gateway in
            let url = try await gateway.register(userID: 1)
            let subscriber = try await TestSubscriber.connect(url)
            _ = try await Self.publish(gateway, "dog-1", topic: "dogs")
            let epoch = try #require(gateway.gateway.history?.position(of: "dogs")?.epoch)
            _ = try await Self.publish(gateway, "dog-2", topic: "dogs")
            subscriber.send(#"{"topics": ["dogs"], "resume": {"dogs": {"epoch": "\#(epoch)", "offset": 1}}}"#)
            let frames = try await subscriber.messages(2).map(Frame.init)
            #expect(frames[0].message == "dog-2" && frames[0].offset == 2)
            #expect(frames[1].type == "recovered" && frames[1].recovered == true && frames[1].missed == 1)
            subscriber.send(#"{"resume": {"birds": {"epoch": "x", "offset": 0}}}"#)
            #expect(try await subscriber.message(3).contains(#"not subscribed"#))
            subscriber.send(#"{"resume": {"dogs": {"epoch": 1}}}"#)
            #expect(try await subscriber.message(4).contains(#""error""#))
        }
    }

    @Test func seedClientsSeeNoChange() async throws {
        try await RunningGateway.with(yaml: Self.yaml()) { gateway in
            let subscriber = try await TestSubscriber.connect(try await gateway.register(userID: 1))
            #expect(try await Self.publish(gateway, "plain") == 1)
            #expect(try await subscriber.messages(1) == ["plain"])
        }
        // With history off, publish answers as the seed did.
        try await RunningGateway.with(yaml: RunningGateway.seedYAML()) { gateway in
            let answer = try await HTTP.post(gateway.url("/publish"), #"{"topic": "cats", "message": "m"}"#)
            #expect(answer.body == #"{"recipients":0}"#)
        }
    }

    @Test func addressedMessagesSurviveAShortDrop() async throws {
        try await RunningGateway.with(yaml: Self.yaml()) { gateway in
            let url = try await gateway.register(userID: 5)
            let first = try await TestSubscriber.connect(url)
            try await Self.drop(first, from: gateway)
            for index in 1...3 {
                _ = try await Self.publish(gateway, "for-5-\(index)", userID: 5)
            }
            _ = try await Self.publish(gateway, "for-6", userID: 6)
            _ = try await Self.publish(gateway, "broadcast")
            let second = try await TestSubscriber.connect(url)
            _ = try await Self.publish(gateway, "live", userID: 5)
            #expect(try await second.messages(4) == ["for-5-1", "for-5-2", "for-5-3", "live"])
        }
    }

    @Test func historyStaysWithinItsBytesUnderAFlood() async throws {
        let cap = 64 * 1024
        try await RunningGateway.with(yaml: Self.yaml(size: 1000, extra: ", max_bytes: \(cap)")) { gateway in
            let payload = String(repeating: "x", count: 1000)
            for index in 0..<400 {
                _ = try await Self.publish(gateway, payload, topic: "t\(index % 40)")
                let usage = try #require(gateway.gateway.history).usage
                #expect(usage.bytes <= cap, "after \(index) publishes: \(usage)")
            }
            let usage = try #require(gateway.gateway.history).usage
            #expect(usage.entries > 10 && usage.entries < 100)
        }
    }

    @Test func malformedResumeParametersAreRefused() async throws {
        try await RunningGateway.with(yaml: Self.yaml()) { gateway in
            let url = try await gateway.register(userID: 1)
            for query in ["?since=cats", "?since=cats:e:notanumber", "?since=:e:1", "?envelope=maybe"] {
                let answer = try await HTTP.upgradeAttempt(url.replacingOccurrences(of: "ws://", with: "http://") + query)
                #expect(answer.status == 400, "\(query): \(answer.status)")
                #expect(answer.json?["error"] is String, "\(query): \(answer.body)")
            }
        }
    }
}
