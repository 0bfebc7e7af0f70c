import Foundation
import RelayCore
import RelayHTTP
import Testing

@testable import RelayGateway

/// The `events` handler: Server-Sent Events over a real gateway, read on raw sockets (to check
/// the framing byte for byte) and with the real curl.
@Suite struct EventStreamTests {
    static let yaml = RunningGateway.seedYAML(relay: "relay: {default_topics: [cats, dogs]}")
    static let historyYAML = RunningGateway.seedYAML(relay: "relay: {default_topics: [cats, dogs], history: {size: 100}}")

    static func id(of url: String) -> String { String(url.split(separator: "/").last!) }

    @Test func eachMessageIsOneEventInChunks() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let id = Self.id(of: try await gateway.register(userID: 1))
            let stream = try await EventStreamClient(port: gateway.port, path: "/events/\(id)")
            #expect(stream.status == 200, "\(stream.head)")
            #expect(stream.head.contains("Content-Type: text/event-stream"))
            #expect(stream.head.contains("Cache-Control: no-store"))
            #expect(stream.isChunked && !stream.head.contains("Content-Length"))
            try await eventually("the stream is attached") { gateway.gateway.relay.counts.connections == 1 }
            #expect(try await gateway.publish(topic: "cats", message: "meow") == 1)
            #expect(try await HTTP.post(gateway.url("/publish"), #"{"topic": "dogs", "message": "two\nlines\r\nand\rthree"}"#).status == 200)
            #expect(try await HTTP.post(gateway.url("/publish"), #"{"topic": "cats", "message": "trailing\n"}"#).status == 200)
            #expect(try await gateway.publish(topic: "birds", message: "not followed") == 0)
            let messages = try await stream.messages(3)
            #expect(messages == ["meow", "two\nlines\nand\nthree", "trailing\n"])
            // Byte for byte: one chunk per event.
            #expect(stream.rawBody.hasPrefix("c\r\ndata: meow\n\n\r\n"), "\(stream.rawBody.debugDescription)")
            #expect(stream.rawBody.contains("data: two\ndata: lines\ndata: and\ndata: three\n\n\r\n"))
            // A bulk publish: every message its own event, in order; addressed ones as on a WebSocket.
            _ = try await HTTP.post(
                gateway.url("/publish"),
                #"{"messages": [{"topic": "cats", "message": "b1"}, {"topic": "cats", "message": "b2", "user_id": 2}, {"topic": "cats", "#
                    + #""message": "b3", "user_id": 1}]}"#
            )
            #expect(try await stream.messages(5).suffix(2) == ["b1", "b3"])

            // Unregister ends the stream: a close event, then the last chunk, then the connection.
            #expect(try await HTTP.delete(gateway.url("/register/\(id)")).status == 200)
            await stream.readToEnd()
            #expect(stream.ended)
            #expect(stream.body?.complete == true, "\(stream.rawBody.debugDescription)")
            #expect(stream.events.last == ["event": "close", "data": "unregistered"])
        }
    }

    @Test func http10StreamsUntilClose() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let id = Self.id(of: try await gateway.register(userID: 1))
            let stream = try await EventStreamClient(port: gateway.port, path: "/events/\(id)", version: "1.0")
            #expect(stream.status == 200)
            #expect(!stream.isChunked && stream.head.contains("Connection: close"))
            try await eventually("the stream is attached") { gateway.gateway.relay.counts.connections == 1 }
            _ = try await gateway.publish(topic: "cats", message: "plain")
            #expect(try await stream.messages(1) == ["plain"])
            #expect(stream.rawBody == "data: plain\n\n")
        }
    }

    /// What a client sends behind its request (pipelined requests, garbage) is dropped, and a
    /// `HEAD` gets the head of the answer with no stream behind it.
    @Test func bytesBehindTheRequestAreIgnoredAndHeadOpensNoStream() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let id = Self.id(of: try await gateway.register(userID: 1))
            let stream = try await EventStreamClient(
                port: gateway.port, path: "/events/\(id)"
            )
            #expect(stream.status == 200)
            stream.socket.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n\u{0}\u{1}garbage\r\n\r\n")
            try await eventually("attached") { gateway.gateway.relay.counts.connections == 1 }
            _ = try await gateway.publish(topic: "cats", message: "still a stream")
            #expect(try await stream.messages(1) == ["still a stream"])
            #expect(!stream.rawBody.contains("HTTP/1.1"), "no answer to what came behind: \(stream.rawBody.debugDescription)")

            // Pipelined in the same write as the request: parsed by the decoder before it leaves, still dropped.
            let other = Self.id(of: try await gateway.register(userID: 2))
            let pipelined = try RawSocket(port: gateway.port)
            pipelined.send(
                "GET /events/\(other) HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\nPOST /publish HTTP/1.1\r\nHost: "
                    + "x\r\nContent-Length: 2\r\n\r\n{}"
            )
            try await eventually("both attached") { gateway.gateway.relay.counts.connections == 2 }
            _ = try await gateway.publish(topic: "cats", message: "to both")
            let bytes = String(decoding: await pipelined.receive(timeout: .seconds(2), until: "to both"), as: UTF8.self)
            #expect(bytes.contains("data: to both") && bytes.components(separatedBy: "HTTP/1.1").count == 2, "\(bytes.debugDescription)")

            let head = try RawSocket(port: gateway.port)
            head.send("HEAD /events/\(id) HTTP/1.1\r\nHost: x\r\n\r\n")
            let answer = String(decoding: await head.receive(timeout: .seconds(2), until: "\r\n\r\n"), as: UTF8.self)
            #expect(answer.hasPrefix("HTTP/1.1 200 OK") && answer.contains("text/event-stream"), "\(answer)")
            #expect(gateway.gateway.relay.counts.connections == 2, "a HEAD replaces no stream")
        }
    }

    @Test func refusalsAreJSON() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let unknown = try await HTTP.get(gateway.url("/events/" + String(repeating: "ab", count: 16)))
            #expect(unknown.status == 404 && unknown.error == "unknown client id")
            let id = Self.id(of: try await gateway.register(userID: 1))
            let many = (0..<65).map { "t\($0)" }.joined(separator: ",")
            let tooMany = try await HTTP.get(gateway.url("/events/\(id)?topics=\(many)"))
            #expect(tooMany.status == 400 && tooMany.error == "topics: too many topics: 65 (at most 64)")
            let empty = try await HTTP.get(gateway.url("/events/\(id)?topics=a,,b"))
            #expect(empty.status == 400 && empty.error == "topics: topic names must not be empty")
            let since = try await HTTP.get(gateway.url("/events/\(id)?since=nope"))
            #expect(since.status == 400)
            let lastID = try await HTTP.get(gateway.url("/events/\(id)"), headers: [("Last-Event-ID", "garbage")])
            #expect(lastID.status == 400 && lastID.error?.hasPrefix(#""Last-Event-ID" must be topic:epoch:offset"#) == true, "\(lastID.body)")
            let post = try await HTTP.post(gateway.url("/events/\(id)"), "{}")
            #expect(post.status == 405)
            #expect(gateway.gateway.relay.registration(ClientID(id)!)?.topics == ["cats", "dogs"], "a refused request changes no topics")
        }
    }

    @Test func topicsInTheURLReplaceTheRegistrations() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let id = Self.id(of: try await gateway.register(userID: 1))
            let stream = try await EventStreamClient(port: gateway.port, path: "/events/\(id)?topics=birds,fish")
            #expect(stream.status == 200)
            try await eventually("the stream is attached") { gateway.gateway.relay.counts.connections == 1 }
            #expect(try await gateway.publish(topic: "cats", message: "no") == 0)
            #expect(try await gateway.publish(topic: "fish", message: "blub") == 1)
            #expect(try await stream.messages(1) == ["blub"])
        }
    }

    @Test func idsResumeEveryTopicAfterAReconnect() async throws {
        try await RunningGateway.with(yaml: Self.historyYAML) { gateway in
            let id = Self.id(of: try await gateway.register(userID: 1))
            _ = try await gateway.publish(topic: "cats", message: "before")
            let first = try await EventStreamClient(port: gateway.port, path: "/events/\(id)")
            // Where each topic stands as it opens: a `subscribed` event each, ids naming both.
            await first.read(until: "event: subscribed\ndata: {\"epoch\"", timeout: .seconds(2))
            try await eventually("the stream is attached") { gateway.gateway.relay.counts.connections == 1 }
            _ = try await gateway.publish(topic: "cats", message: "c2")
            _ = try await gateway.publish(topic: "dogs", message: "d1")
            #expect(try await first.messages(2) == ["c2", "d1"])
            let events = first.events
            let subscribed = events.filter { $0["event"] == "subscribed" }
            #expect(subscribed.count == 2)
            let lastID = try #require(events.last?["id"])
            let epochs = lastID.split(separator: ",").map { $0.split(separator: ":")[1] }
            #expect(lastID == "cats:\(epochs[0]):2,dogs:\(epochs[1]):1", "every topic's position, in topic order: \(lastID)")
            first.socket.shutdownBoth()
            try await eventually("the stream is gone") { gateway.gateway.relay.counts.connections == 0 }

            // Published while away, then a reconnect with the last id, as EventSource does.
            _ = try await gateway.publish(topic: "dogs", message: "d2")
            _ = try await gateway.publish(topic: "cats", message: "c3")
            let second = try await EventStreamClient(
                port: gateway.port, path: "/events/\(id)?since=cats:\(epochs[0]):0", headers: ["Last-Event-ID: \(lastID)"])
            #expect(second.status == 200)
            await second.read(until: "\"topic\":\"dogs\"", timeout: .seconds(2))
            let messages = try await second.messages(2)
            #expect(Set(messages) == ["c3", "d2"], "Last-Event-ID wins over the URL's ?since=: \(messages)")
            let recovered = second.events.filter { $0["event"] == "recovered" }
            #expect(recovered.count == 2)
            #expect(recovered.allSatisfy { $0["data"]?.contains(#""recovered":true"#) == true && $0["data"]?.contains(#""missed":1"#) == true })
            #expect(second.events.last?["id"] == "cats:\(epochs[0]):3,dogs:\(epochs[1]):2")
            // Live from there, no repeat.
            _ = try await gateway.publish(topic: "cats", message: "c4")
            #expect(try await second.messages(3).last == "c4")
        }
    }

    @Test func idsEscapeTopicsThatWouldBreakThem() {
        let position = StreamPosition(epoch: "e1", offset: 7)
        let id = EventStreamFrame.id([("a,b", position), ("x\ny", position), ("50%", position), ("p:q", position)])
        #expect(id == "50%25:e1:7,a%2Cb:e1:7,p:q:e1:7,x%0Ay:e1:7")
        let read = try? EventStreamFrame.positions(fromID: id!, maxTopics: 10)
        #expect(read?.map(\.topic) == ["50%", "a,b", "p:q", "x\ny"])
        #expect(read?.allSatisfy { $0.position == position } == true)
        #expect(throws: SubscribeOptions.Invalid.self) { try EventStreamFrame.positions(fromID: "a:b", maxTopics: 10) }
        #expect(throws: SubscribeOptions.Invalid.self) { try EventStreamFrame.positions(fromID: "a:e:1,b:e:2", maxTopics: 1) }
        // One topic twice, also when spelt differently: it would be replayed twice.
        let again = #expect(throws: SubscribeOptions.Invalid.self) { try EventStreamFrame.positions(fromID: "cats:e:0,c%61ts:e:0", maxTopics: 10) }
        #expect(again?.message == #""Last-Event-ID" names topic "cats" more than once"#)
    }

    /// A `Last-Event-ID` or `?since=` naming a topic twice used to replay what was missed twice:
    /// now a 400 that says so, on the events route and on a WebSocket handshake alike.
    @Test func aTopicNamedTwiceInAResumePositionIsRefused() async throws {
        try await RunningGateway.with(yaml: Self.historyYAML) { gateway in
            let id = Self.id(of: try await gateway.register(userID: 1))
            let stream = try await EventStreamClient(port: gateway.port, path: "/events/\(id)")
            await stream.read(until: "event: subscribed\ndata: {\"epoch\"", timeout: .seconds(2))
            let epoch = try #require(
                stream.events.first { $0["event"] == "subscribed" }?["id"]?.split(separator: ",").first?.split(separator: ":")[1])
            stream.socket.shutdownBoth()
            try await eventually("the stream is gone") { gateway.gateway.relay.counts.connections == 0 }
            _ = try await gateway.publish(topic: "cats", message: "missed")

            let twice = "cats:\(epoch):0,cats:\(epoch):0"
            let refused = try await HTTP.get(gateway.url("/events/\(id)"), headers: [("Last-Event-ID", twice)])
            #expect(refused.status == 400 && refused.error == #""Last-Event-ID" names topic "cats" more than once"#, "\(refused.body)")
            let query = try await HTTP.get(gateway.url("/events/\(id)?since=\(twice)"))
            #expect(query.status == 400 && query.error == #""since" names topic "cats" more than once"#, "\(query.body)")
            let handshake = try await HTTP.upgradeAttempt(gateway.url("/ws/\(id)?since=\(twice)"))
            #expect(handshake.status == 400 && handshake.error == #""since" names topic "cats" more than once"#, "\(handshake.body)")

            let once = try await EventStreamClient(port: gateway.port, path: "/events/\(id)", headers: ["Last-Event-ID: cats:\(epoch):0"])
            #expect(try await once.messages(1) == ["missed"])
            await once.read(until: "\r\n", timeout: .milliseconds(300))
            #expect(once.rawBody.components(separatedBy: "data: missed").count == 2, "replayed once: \(once.rawBody.debugDescription)")
        }
    }

    /// `HEAD` is safe (RFC 9110 §9.3.2): the head GET would get, with no length, since the body
    /// is an endless chunked stream (RFC 9110 §8.6), and `?topics=` changes nothing. The connection
    /// stays open for the next request.
    @Test func headAnswersTheStreamsHeadAndChangesNoTopics() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let id = Self.id(of: try await gateway.register(userID: 1))
            let socket = try RawSocket(port: gateway.port)
            socket.send("HEAD /events/\(id)?topics=zebras HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            let answers = String(decoding: await socket.receive(timeout: .seconds(2), until: #""status":"ok"}"#), as: UTF8.self)
            let head = try #require(answers.components(separatedBy: "\r\n\r\n").first)
            #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n") && head.contains("Content-Type: text/event-stream"), "\(head)")
            #expect(!head.contains("Content-Length"), "\(head)")
            #expect(head.contains("Transfer-Encoding: chunked"), "the framing GET would have: \(head)")
            #expect(answers.contains("HTTP/1.1 200 OK\r\n") && answers.hasSuffix(#""status":"ok"}"#), "the next request is answered: \(answers)")
            #expect(gateway.gateway.relay.registration(ClientID(id)!)?.topics == ["cats", "dogs"], "HEAD changed the topics")
            let refused = try RawSocket(port: gateway.port)
            refused.send("HEAD /events/\(id)?topics=a,,b HTTP/1.1\r\nHost: x\r\n\r\n")
            let bad = String(decoding: await refused.receive(timeout: .seconds(2), until: "\r\n\r\n"), as: UTF8.self)
            #expect(bad.hasPrefix("HTTP/1.1 400 "), "HEAD gets the status GET would: \(bad)")
        }
    }

    /// The lists in the query are split at their commas first, then each name is decoded
    /// (RFC 3986 §2.2): `%2C` is a comma inside a topic's name.
    @Test func queryListsAreSplitBeforeTheyAreDecoded() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let id = Self.id(of: try await gateway.register(userID: 1))
            let stream = try await EventStreamClient(port: gateway.port, path: "/events/\(id)?topics=c%2Cd,e%20f")
            #expect(stream.status == 200)
            #expect(gateway.gateway.relay.registration(ClientID(id)!)?.topics == ["c,d", "e f"])
            #expect(try await gateway.publish(topic: "c", message: "no") == 0)
            #expect(try await gateway.publish(topic: "c,d", message: "yes") == 1)
            #expect(try await stream.messages(1) == ["yes"])
        }
        let request = Request(method: .get, target: "/x?since=a%2Cb:e:1,c:e:2&topics=&t=%2C,%2C", authority: nil, headers: [:])
        #expect(request.queryList("since") == ["a,b:e:1", "c:e:2"])
        #expect(request.queryList("topics") == [])
        #expect(request.queryList("t") == [",", ","])
        #expect(request.queryList("none") == nil)
        #expect(request.queryValue("since") == "a,b:e:1,c:e:2")
    }

    @Test func idleStreamsGetACommentEveryPingInterval() async throws {
        let yaml = RunningGateway.seedYAML(relay: "relay: {ping_interval: 30s, ping_timeout: 60s}")
        let clock = ManualClock()
        try await RunningGateway.with(yaml: yaml, clock: clock) { gateway in
            let id = Self.id(of: try await gateway.register(userID: 1))
            let stream = try await EventStreamClient(port: gateway.port, path: "/events/\(id)")
            try await eventually("attached") { gateway.gateway.relay.counts.connections == 1 }
            try await clock.advance(by: .seconds(30) - .milliseconds(1))
            #expect(!stream.rawBody.contains(": ping"), "no comment before the interval")
            try await clock.advance(by: .milliseconds(1))
            #expect(await stream.read(until: ": ping\n\n\r\n", timeout: .seconds(5)))
            // A client that says nothing is not timed out (it cannot answer pings): still attached
            // well past the timeout.
            try await clock.advance(by: .seconds(120))
            #expect(gateway.gateway.relay.counts.connections == 1)
            #expect(try await gateway.publish(topic: "cats", message: "still here") == 1)
            #expect(try await stream.messages(1) == ["still here"])
        }
    }

    @Test func aClientThatGoesAwayIsDetached() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let id = Self.id(of: try await gateway.register(userID: 1))
            let stream = try await EventStreamClient(port: gateway.port, path: "/events/\(id)")
            try await eventually("attached") { gateway.gateway.relay.counts.connections == 1 }
            stream.socket.shutdownWrite()
            try await eventually("a half-closed client is gone") { gateway.gateway.relay.counts.connections == 0 }
            // The registration stays, as after a WebSocket: the client may come back.
            #expect(gateway.gateway.relay.registration(ClientID(id)!) != nil)
        }
    }

    @Test func aSlowConsumerIsEndedAndTheOthersKeepTheirPace() async throws {
        let yaml = RunningGateway.seedYAML(relay: "relay: {send_queue: 8, max_message_bytes: 64KiB}")
        try await RunningGateway.with(yaml: yaml) { gateway in
            let slow = Self.id(of: try await gateway.register(userID: 1))
            let stalled = try await EventStreamClient(port: gateway.port, path: "/events/\(slow)", receiveBuffer: 4096)
            #expect(stalled.status == 200)
            let reader = try await TestSubscriber.connect(try await gateway.register(userID: 2))
            try await eventually("both attached") { gateway.gateway.relay.counts.connections == 2 }
            let big = String(repeating: "x", count: 32 * 1024)
            // Far more than the kernel's socket buffers hold: the stalled stream's queue fills.
            for _ in 0..<300 {
                _ = try await gateway.publish(topic: "cats", message: big)
            }
            #expect(try await reader.messages(300, within: .seconds(20)).count == 300)
            try await eventually("the stalled stream is dropped", within: .seconds(10)) { gateway.gateway.relay.counts.connections == 1 }
            try await reader.close()
        }
    }

    @Test func filtersApplyAndTakeAQueryToken() async throws {
        let yaml = RunningGateway.seedYAML(
            routeFilters: ["events": "[apps]"],
            relay: "tokens: {app: app-secret}\nfilters: {apps: {type: auth, tokens: [app]}}"
        )
        try await RunningGateway.with(yaml: yaml) { gateway in
            let id = Self.id(of: try await gateway.register(userID: 1))
            let refused = try await HTTP.get(gateway.url("/events/\(id)"))
            #expect(refused.status == 401 && refused.error == "missing bearer token")
            let wrong = try await HTTP.get(gateway.url("/events/\(id)?token=nope"))
            #expect(wrong.status == 401)
            let stream = try await EventStreamClient(port: gateway.port, path: "/events/\(id)?token=app-secret")
            #expect(stream.status == 200)
            let header = try await EventStreamClient(port: gateway.port, path: "/events/\(id)", headers: ["Authorization: Bearer app-secret"])
            #expect(header.status == 200)
            // The query token counts only where a client cannot send headers: not on publish.
            #expect(try await HTTP.post(gateway.url("/publish?token=app-secret"), #"{"topic": "cats", "message": "x"}"#).status == 200)
        }
    }

    @Test func sigtermEndsTheStreamAfterWhatIsQueuedAndExitsZero() async throws {
        let running = try Running(Program.gateway, ["serve", "--config", "config/relay.yaml"], environment: ["RELAY_PORT": "0"])
        let port = try await running.awaitListening()
        let answer = try await HTTP.post("http://127.0.0.1:\(port)/register", #"{"user_id": 1}"#)
        let id = Self.id(of: try #require(answer.json?["url"] as? String))
        let stream = try await EventStreamClient(port: port, path: "/events/\(id)")
        #expect(stream.status == 200)
        try await eventually("attached") {
            try await HTTP.get("http://127.0.0.1:\(port)/health").json?["connections"] as? Int == 1
        }
        _ = try await HTTP.post("http://127.0.0.1:\(port)/publish", #"{"topic": "cats", "message": "last words"}"#)
        #expect(try await stream.messages(1) == ["last words"])
        running.signal(SIGTERM)
        await stream.readToEnd(timeout: .seconds(10))
        #expect(stream.ended)
        #expect(stream.events.last == ["event": "close", "data": "server shutting down"])
        #expect(stream.body?.complete == true)
        let result = try await running.finish(within: .seconds(15))
        #expect(result.status == 0, "\(result.stderr)")
    }
}
