import AsyncHTTPClient
import NIOCore
import Testing

/// The `publish` route: addressing, ordering and every kind of bad body.
@Suite struct PublishTests {
    static let yaml = RunningGateway.seedYAML(relay: "relay: {max_message_bytes: 4KiB}")

    @Test func userAddressingReachesEveryClientOfThatUserOnly() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let phone = try await TestSubscriber.connect(try await gateway.register(userID: 1))
            let browser = try await TestSubscriber.connect(try await gateway.register(userID: 1))
            let other = try await TestSubscriber.connect(try await gateway.register(userID: 2))

            #expect(try await gateway.publish(topic: "cats", message: "for-one", userID: 1) == 2)
            #expect(try await gateway.publish(topic: "cats", message: "for-all") == 3)
            #expect(try await gateway.publish(topic: "cats", message: "for-nobody", userID: 3) == 0)

            #expect(try await phone.messages(2) == ["for-one", "for-all"])
            #expect(try await browser.messages(2) == ["for-one", "for-all"])
            #expect(try await other.messages(1) == ["for-all"])
            for subscriber in [phone, browser, other] {
                try await subscriber.close()
            }
        }
    }

    @Test func messagesArriveInPublishOrderExactlyAsSent() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let subscriber = try await TestSubscriber.connect(try await gateway.register(userID: 1))
            let sent = (0..<200).map { "message \($0) ü ✓" }
            for message in sent {
                _ = try await gateway.publish(topic: "cats", message: message)
            }
            #expect(try await subscriber.messages(sent.count) == sent)
            try await subscriber.close()
        }
    }

    @Test func messageIsDeliveredVerbatimIncludingJSONAndEscapes() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let subscriber = try await TestSubscriber.connect(try await gateway.register(userID: 1))
            let answer = try await HTTP.post(gateway.url("/publish"), #"{"topic": "cats", "message": "{\"a\": [1, \"x\\ny\"]}"}"#)
            #expect(answer.status == 200)
            #expect(try await subscriber.message(1) == "{\"a\": [1, \"x\\ny\"]}")
            try await subscriber.close()
        }
    }

    @Test(
        arguments: [
            ("", "request body must be a JSON object"),
            ("nope", "malformed JSON"),
            ("[1]", "request body must be a JSON object"),
            (#"{"message": "x"}"#, #"missing "topic""#),
            (#"{"topic": "cats"}"#, #"missing "message""#),
            (#"{"topic": 5, "message": "x"}"#, #""topic" must be a string"#),
            (#"{"topic": "cats", "message": 5}"#, #""message" must be a string"#),
            (#"{"topic": "cats", "message": "x", "user_id": "1"}"#, #""user_id" must be an integer"#),
            (#"{"topic": "cats", "message": "x", "user_id": 1.5}"#, nil),
            (#"{"topic": "cats", "message": "x", "user_id": -1}"#, #""user_id" must be an integer ≥ 0"#),
            (#"{"topic": "cats", "message": "x", "user_id": 99999999999999999999999}"#, nil),
            (#"{"topic": "", "message": "x"}"#, "topic names must not be empty"),
        ] as [(String, String?)])
    func malformedBodiesGet400WithAJSONError(body: String, message: String?) async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let answer = try await HTTP.post(gateway.url("/publish"), body)
            #expect(answer.status == 400, "\(body) -> \(answer.body)")
            #expect(answer.error != nil)
            if let message {
                #expect(answer.error == message)
            }
            #expect(try await HTTP.get(gateway.url("/health")).status == 200)
        }
    }

    @Test func invalidUTF8AndOtherContentTypesAreJudgedByTheBodyAlone() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            var request = HTTPClientRequest(url: gateway.url("/publish"))
            request.method = .POST
            request.body = .bytes(ByteBuffer(bytes: Array(#"{"topic": "cats", "message": "\#u{FF}"#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(response.status.code == 400)
            let text = try await HTTP.post(gateway.url("/publish"), #"{"topic": "cats", "message": "ok"}"#, headers: [("Content-Type", "text/plain")])
            #expect(text.status == 200, "a JSON body is read whatever its content type")
            let form = try await HTTP.post(
                gateway.url("/publish"), "topic=cats&message=x", headers: [("Content-Type", "application/x-www-form-urlencoded")])
            #expect(form.status == 400)
            #expect(form.error == "malformed JSON")
        }
    }

    @Test func oversizedBodyGets413() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let big = String(repeating: "x", count: 5000)
            let answer = try await HTTP.post(gateway.url("/publish"), #"{"topic": "cats", "message": "\#(big)"}"#)
            #expect(answer.status == 413)
            #expect(answer.error != nil)
            #expect(try await gateway.publish(topic: "cats", message: "small") == 0)
        }
    }

    @Test(arguments: [
        ("{}", #"missing "user_id""#),
        (#"{"user_id": -3}"#, #""user_id" must be an integer ≥ 0"#),
        (#"{"user_id": "7"}"#, #""user_id" must be an integer"#),
        ("{", "malformed JSON"),
    ])
    func badRegistrationsGet400(body: String, message: String) async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let answer = try await HTTP.post(gateway.url("/register"), body)
            #expect(answer.status == 400)
            #expect(answer.error == message)
            #expect(gateway.gateway.relay.counts.registrations == 0)
        }
    }
}
