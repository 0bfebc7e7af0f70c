import Foundation
import Testing

@testable import RelayGateway

/// `POST /publish` with many messages: `{"messages": [...]}`, `{"topics": [...], "message"}`, and
/// idempotency keys (`"id"`), against a real gateway with real WebSocket subscribers.
@Suite struct BulkPublishTests {
    static let yaml = RunningGateway.seedYAML(relay: "relay: {default_topics: [cats, dogs], max_batch: 5, history: {size: 100}}")

    /// The per-message results of a batch answer, as (recipients, offset, duplicate).
    static func results(_ answer: HTTPAnswer) -> [(recipients: Int, offset: Int?, duplicate: Bool)] {
        ((answer.json?["results"] as? [[String: Any]]) ?? []).map { result in
            (result["recipients"] as? Int ?? -1, result["offset"] as? Int, result["duplicate"] as? Bool ?? false)
        }
    }

    @Test func aBatchIsDeliveredInOrderAndAnsweredPerMessage() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let subscriber = try await TestSubscriber.connect(try await gateway.register(userID: 1))
            let other = try await TestSubscriber.connect(try await gateway.register(userID: 2))
            let answer = try await HTTP.post(
                gateway.url("/publish"),
                #"""
                {"messages": [
                    {"topic": "cats", "message": "a"},
                    {"topic": "dogs", "message": "b\nwith a line"},
                    {"topic": "cats", "message": "c", "user_id": 1},
                    {"topic": "nobody", "message": "d"},
                    {"topic": "cats", "message": "e"}
                ]}
                """#
            )
            #expect(answer.status == 200, "\(answer.body)")
            let results = Self.results(answer)
            #expect(results.map(\.recipients) == [2, 2, 1, 0, 2])
            #expect(results.map(\.offset) == [1, 1, 2, 1, 3])
            #expect(results.allSatisfy { !$0.duplicate })
            #expect(answer.json?["recipients"] as? Int == 7)
            #expect(try await subscriber.messages(4) == ["a", "b\nwith a line", "c", "e"])
            #expect(try await other.messages(3) == ["a", "b\nwith a line", "e"])

            // Batches of one connection keep their order too.
            for round in 0..<20 {
                let body = (0..<5).map { #"{"topic": "cats", "message": "r\#(round)-\#($0)"}"# }.joined(separator: ",")
                #expect(try await HTTP.post(gateway.url("/publish"), #"{"messages": [\#(body)]}"#).status == 200)
            }
            let expected = (0..<20).flatMap { round in (0..<5).map { "r\(round)-\($0)" } }
            #expect(try await other.messages(3 + 100).suffix(100) == expected[...])
            try await subscriber.close()
            try await other.close()
        }
    }

    @Test func oneMessageToManyTopics() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let subscriber = try await TestSubscriber.connect(try await gateway.register(userID: 1))
            let answer = try await HTTP.post(gateway.url("/publish"), #"{"topics": ["cats", "birds", "dogs"], "message": "to all"}"#)
            #expect(answer.status == 200, "\(answer.body)")
            #expect(Self.results(answer).map(\.recipients) == [1, 0, 1])
            #expect(Self.results(answer).map(\.offset) == [1, 1, 1])
            #expect(try await subscriber.messages(2) == ["to all", "to all"])
            // Addressed to a user.
            let addressed = try await HTTP.post(gateway.url("/publish"), #"{"topics": ["cats", "dogs"], "message": "for 2", "user_id": 2}"#)
            #expect(Self.results(addressed).map(\.recipients) == [0, 0])
            #expect(try await gateway.publish(topic: "cats", message: "marker") == 1)
            #expect(try await subscriber.messages(3).last == "marker")
            try await subscriber.close()
        }
    }

    @Test(
        arguments: [
            (#"{"messages": []}"#, 400, #""messages" is empty"#),
            (#"{"messages": [{"topic": "cats", "message": "ok"}, {"topic": "cats"}]}"#, 400, #"missing "messages[1].message""#),
            (#"{"messages": [{"topic": "cats", "message": "ok"}, {"topic": 5, "message": "x"}]}"#, 400, #""messages[1].topic" must be a string"#),
            (
                #"{"messages": [{"topic": "cats", "message": "ok"}, {"topic": "cats", "message": "x", "user_id": -1}]}"#, 400,
                #""messages[1].user_id" must be an integer ≥ 0"#
            ),
            (
                #"{"messages": [{"topic": "cats", "message": "ok"}, {"topic": "", "message": "x"}]}"#, 400,
                "messages[1].topic: topic names must not be empty"
            ),
            (
                #"{"messages": [{"topic": "cats", "message": "ok"}, {"topic": "cats", "message": "x", "id": ""}]}"#, 400,
                #""messages[1].id" must be a string of 1 to 128 bytes"#
            ),
            (#"{"messages": [{"topic": "cats", "message": "ok"}, 7]}"#, 400, #""messages[1]" must be an object"#),
            (#"{"messages": {"topic": "cats"}}"#, 400, #""messages" must be a list"#),
            (
                #"{"messages": [{"topic": "cats", "message": "ok"}], "topic": "cats"}"#, 400,
                #""messages" takes no "topic", "topics", "message", "user_id" or "id" beside it: give them per message"#
            ),
            (#"{"topics": [], "message": "x"}"#, 400, #""topics" is empty"#),
            (#"{"topics": ["cats", "cats"], "message": "x"}"#, 400, #""topics" names "cats" twice"#),
            (#"{"topics": ["cats", ""], "message": "x"}"#, 400, "topics[1]: topic names must not be empty"),
            (#"{"topics": ["cats", 3], "message": "x"}"#, 400, #""topics[1]" must be a string"#),
            (#"{"topics": ["cats"], "topic": "cats", "message": "x"}"#, 400, #"give "topic" or "topics", not both"#),
            (#"{"topics": ["cats"]}"#, 400, #"missing "message""#),
            (#"{"topic": "cats", "message": "x", "id": 5}"#, 400, #""id" must be a string"#),
            (#"{"topic": "cats", "message": "x", "id": ""}"#, 400, #""id" must be a string of 1 to 128 bytes"#),
            (
                #"{"topics": ["a", "b", "c", "d", "e", "f"], "message": "x"}"#, 413,
                #"a publish carries at most 5 messages (max_batch); "topics" has 6"#
            ),
            (
                #"{"messages": [\#((0..<6).map { _ in #"{"topic": "cats", "message": "x"}"# }.joined(separator: ","))]}"#, 413,
                #"a publish carries at most 5 messages (max_batch); "messages" has 6"#
            ),
        ] as [(String, Int, String)])
    func aBadBodyIsRefusedWholeAndDeliversNothing(body: String, status: Int, message: String) async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let subscriber = try await TestSubscriber.connect(try await gateway.register(userID: 1))
            let answer = try await HTTP.post(gateway.url("/publish"), body)
            #expect(answer.status == status, "\(body) -> \(answer.body)")
            #expect(answer.error == message)
            #expect(answer.headers["Content-Type"].first == "application/json")
            // Nothing of it went out: the next message is the first the client gets, at offset 1.
            let marker = try await HTTP.post(gateway.url("/publish"), #"{"topic": "cats", "message": "marker"}"#)
            #expect(marker.json?["offset"] as? Int == 1)
            #expect(try await subscriber.message(1) == "marker")
            try await subscriber.close()
        }
    }

    @Test func aRepeatedIDIsNotDeliveredAgain() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let subscriber = try await TestSubscriber.connect(try await gateway.register(userID: 1))
            let first = try await HTTP.post(gateway.url("/publish"), #"{"topic": "cats", "message": "once", "id": "order-17"}"#)
            #expect(first.body == #"{"recipients":1,"offset":1}"#)
            let again = try await HTTP.post(gateway.url("/publish"), #"{"topic": "cats", "message": "once", "id": "order-17"}"#)
            #expect(again.body == #"{"recipients":0,"offset":1,"duplicate":true}"#)
            // The key is the topic and the id: the same id on another topic is another message.
            let dogs = try await HTTP.post(gateway.url("/publish"), #"{"topic": "dogs", "message": "dogs too", "id": "order-17"}"#)
            #expect(dogs.body == #"{"recipients":1,"offset":1}"#)
            // In a batch: a repeat within it, and one of an earlier publish.
            let batch = try await HTTP.post(
                gateway.url("/publish"),
                #"""
                {"messages": [
                    {"topic": "cats", "message": "new", "id": "order-18"},
                    {"topic": "cats", "message": "new", "id": "order-18"},
                    {"topic": "cats", "message": "once", "id": "order-17"},
                    {"topic": "cats", "message": "no id"}
                ]}
                """#
            )
            #expect(Self.results(batch).map(\.duplicate) == [false, true, true, false])
            #expect(Self.results(batch).map(\.offset) == [2, 2, 1, 3])
            #expect(Self.results(batch).map(\.recipients) == [1, 0, 0, 1])
            let topics = try await HTTP.post(gateway.url("/publish"), #"{"topics": ["cats", "dogs", "birds"], "message": "x", "id": "order-17"}"#)
            #expect(Self.results(topics).map(\.duplicate) == [true, true, false])
            #expect(try await gateway.publish(topic: "cats", message: "marker") == 1)
            #expect(try await subscriber.messages(5) == ["once", "dogs too", "new", "no id", "marker"])
            try await subscriber.close()
        }
    }

    @Test func theWindowEndsAndCanBeTurnedOff() async throws {
        let short = RunningGateway.seedYAML(relay: "relay: {idempotency_window: 1s}")
        let clock = ManualClock()
        try await RunningGateway.with(yaml: short, clock: clock) { gateway in
            let body = #"{"topic": "cats", "message": "m", "id": "k"}"#
            #expect(try await HTTP.post(gateway.url("/publish"), body).json?["duplicate"] == nil)
            #expect(try await HTTP.post(gateway.url("/publish"), body).json?["duplicate"] as? Bool == true)
            try await clock.advance(by: .milliseconds(999))
            #expect(try await HTTP.post(gateway.url("/publish"), body).json?["duplicate"] as? Bool == true, "within the window")
            try await clock.advance(by: .milliseconds(1))
            #expect(try await HTTP.post(gateway.url("/publish"), body).json?["duplicate"] == nil, "past the window the id is new again")
        }
        let off = RunningGateway.seedYAML(relay: "relay: {idempotency_window: 0s}")
        try await RunningGateway.with(yaml: off) { gateway in
            let subscriber = try await TestSubscriber.connect(try await gateway.register(userID: 1))
            let body = #"{"topic": "cats", "message": "m", "id": "k"}"#
            #expect(try await HTTP.post(gateway.url("/publish"), body).body == #"{"recipients":1}"#)
            #expect(try await HTTP.post(gateway.url("/publish"), body).body == #"{"recipients":1}"#)
            #expect(try await subscriber.messages(2) == ["m", "m"])
            try await subscriber.close()
        }
    }

    @Test func eachMessageOfABatchCountsAsAPublish() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let subscriber = try await TestSubscriber.connect(try await gateway.register(userID: 1))
            let before = gateway.gateway.metrics.totals
            _ = try await HTTP.post(gateway.url("/publish"), #"{"topics": ["cats", "dogs", "birds"], "message": "x", "id": "a"}"#)
            _ = try await HTTP.post(gateway.url("/publish"), #"{"topic": "cats", "message": "x", "id": "a"}"#)
            let after = gateway.gateway.metrics.totals
            #expect(after.publishes - before.publishes == 3, "a duplicate is no publish")
            #expect(after.deliveries - before.deliveries == 2)
            _ = try await subscriber.messages(2)
            try await subscriber.close()
        }
    }
}
