import Foundation
import Testing

/// A live gateway with `hmac_signature` and `webhook`, driven over real HTTP and WebSocket.
@Suite struct WebhookGatewayTests {
    static let secret = "test-secret-3f1c"

    static let config = """
        relay:
          default_topics: [github]
          max_topic_length: 16
        tokens:
          hooks: \(secret)
        filters:
          signed: {type: hmac_signature, secret: hooks, window: 5m}
        listeners:
          - name: public
            host: 127.0.0.1
            port: 0
            routes:
              - {path: /register, method: POST, handler: register}
              - {path: "/ws/{client_id}", handler: subscribe}
              - {path: "/hooks/{topic}", handler: webhook, filters: [signed]}
              - {path: /metrics, method: GET, handler: metrics}
        """

    @Test func aSignedWebhookReachesTheTopicsSubscriberAsSent() async throws {
        try await withLiveGateway(Self.config) { gateway in
            let registered = try await gateway.send(.post, "/register", body: Array(#"{"user_id": 1}"#.utf8))
            #expect(registered.status == 200)
            let url = try #require(try JSONDecoder().decode([String: String].self, from: Data(registered.body.utf8))["url"])
            let event = #"{"action":"opened","number":42,"title":"Ünïcode ✓"}"#
            let (answer, frame) = try await nextMessage(at: url) {
                try await gateway.postSigned(topic: "github", body: Array(event.utf8), secret: Self.secret)
            }
            #expect(answer == .init(status: 200, body: #"{"recipients":1}"#))
            #expect(frame == event)
            // Nobody listens on another topic: published all the same, to no one.
            let unheard = try await gateway.postSigned(topic: "stripe", body: Array("charge.succeeded".utf8), secret: Self.secret)
            #expect(unheard == .init(status: 200, body: #"{"recipients":0}"#))
            // Counted as publishes like the gateway's own.
            let metrics = try await gateway.metrics()
            #expect(metrics.contains("relay_publishes_total 2"), "\(metrics)")
            #expect(metrics.contains("relay_deliveries_total 1"))
        }
    }

    @Test func refusalsAre401sCountedByReason() async throws {
        try await withLiveGateway(Self.config) { gateway in
            let body = Array(#"{"action":"opened"}"#.utf8)
            let now = UnixTime.now
            let good = ReferenceSigner.signature(secret: Self.secret, timestamp: String(now), body: body)
            let forged = ReferenceSigner.signature(secret: "guessed", timestamp: String(now), body: body)

            let wrong = try await gateway.send(
                .post, "/hooks/github", headers: [("X-Timestamp", String(now)), ("X-Signature", forged)], body: body
            )
            #expect(wrong == .init(status: 401, body: #"{"error":"signature does not match"}"#))

            let stale = try await gateway.postSigned(topic: "github", body: body, secret: Self.secret, timestamp: now - 301)
            #expect(stale == .init(status: 401, body: #"{"error":"timestamp outside the 300 s window"}"#))
            let future = try await gateway.postSigned(topic: "github", body: body, secret: Self.secret, timestamp: now + 3600)
            #expect(future.status == 401)

            let unsigned = try await gateway.send(.post, "/hooks/github", headers: [("X-Timestamp", String(now))], body: body)
            #expect(unsigned == .init(status: 401, body: #"{"error":"missing X-Signature header"}"#))
            let undated = try await gateway.send(.post, "/hooks/github", headers: [("X-Signature", good)], body: body)
            #expect(undated == .init(status: 401, body: #"{"error":"missing X-Timestamp header"}"#))
            let garbled = try await gateway.send(
                .post, "/hooks/github", headers: [("X-Timestamp", String(now)), ("X-Signature", "sha1=abc")], body: body
            )
            #expect(garbled == .init(status: 401, body: #"{"error":"malformed X-Signature header: expected sha256=<64 hex digits>"}"#))

            // Replaying the good signature over another body fails too.
            let tampered = try await gateway.send(
                .post, "/hooks/github", headers: [("X-Timestamp", String(now)), ("X-Signature", good)], body: Array("{}".utf8)
            )
            #expect(tampered.status == 401)

            let metrics = try await gateway.metrics()
            #expect(metrics.contains(#"hmac_signature_refused_total{filter="signed",reason="mismatch"} 2"#), "\(metrics)")
            #expect(metrics.contains(#"hmac_signature_refused_total{filter="signed",reason="stale"} 2"#))
            #expect(metrics.contains(#"hmac_signature_refused_total{filter="signed",reason="missing"} 2"#))
            #expect(metrics.contains(#"hmac_signature_refused_total{filter="signed",reason="malformed"} 1"#))
            #expect(!metrics.contains(Self.secret))
        }
    }

    @Test func aSignedBodyThatIsNoMessageIsA400() async throws {
        try await withLiveGateway(Self.config) { gateway in
            // Signed over the raw bytes, so it passes the filter; the handler refuses it.
            let notUTF8: [UInt8] = [0x7b, 0xff, 0xfe, 0x7d]
            let binary = try await gateway.postSigned(topic: "github", body: notUTF8, secret: Self.secret)
            #expect(binary == .init(status: 400, body: #"{"error":"body must be UTF-8 text"}"#))
            let empty = try await gateway.postSigned(topic: "github", body: [], secret: Self.secret)
            #expect(empty == .init(status: 400, body: #"{"error":"empty body: the body is the message to publish"}"#))
            let long = try await gateway.postSigned(topic: "a-topic-far-too-long", body: Array("x".utf8), secret: Self.secret)
            #expect(long == .init(status: 400, body: #"{"error":"topic name too long: 20 bytes (at most 16)"}"#))
        }
    }
}
