import HTTPTypes
import Testing

@testable import RelayGateway

/// `auth`: bearer tokens on publish, and header or `?token=` on the WebSocket handshake.
@Suite struct AuthFilterTests {
    static let environment = ["PUB": "pub-secret-123", "SUB": "sub-secret-456"]
    static let yaml = """
        tokens: {publisher: "${PUB}", app: "${SUB}"}
        filters:
          backends: {type: auth, tokens: [publisher]}
          apps: {type: auth, tokens: [app, publisher]}
        \(RunningGateway.seedYAML(routeFilters: ["publish": "[backends]", "subscribe": "[apps]"]))
        """

    @Test func publishNeedsTheBearerToken() async throws {
        try await RunningGateway.with(yaml: Self.yaml, environment: Self.environment) { gateway in
            let body = #"{"topic": "cats", "message": "x"}"#
            let missing = try await HTTP.post(gateway.url("/publish"), body)
            #expect(missing.status == 401)
            #expect(missing.error == "missing bearer token")
            #expect(missing.headers["WWW-Authenticate"].first?.hasPrefix("Bearer") == true)

            let wrong = try await HTTP.post(gateway.url("/publish"), body, headers: [("Authorization", "Bearer pub-secret-12")])
            #expect(wrong.status == 401)
            #expect(wrong.error == "invalid token")
            #expect(wrong.headers["WWW-Authenticate"].first?.hasPrefix("Bearer") == true)

            let otherToken = try await HTTP.post(gateway.url("/publish"), body, headers: [("Authorization", "Bearer sub-secret-456")])
            #expect(otherToken.status == 401)

            let queryToken = try await HTTP.post(gateway.url("/publish?token=pub-secret-123"), body)
            #expect(queryToken.status == 401, "?token= is for WebSocket handshakes only")

            let right = try await HTTP.post(gateway.url("/publish"), body, headers: [("Authorization", "Bearer pub-secret-123")])
            #expect(right.status == 200)
            #expect(right.json?["recipients"] as? Int == 0)
        }
    }

    @Test func subscribeAcceptsHeaderOrQueryTokenAndRefusesWith401() async throws {
        try await RunningGateway.with(yaml: Self.yaml, environment: Self.environment) { gateway in
            let url = try await gateway.register(userID: 1)
            let http = url.replacingOccurrences(of: "ws://", with: "http://")

            let missing = try await HTTP.upgradeAttempt(http)
            #expect(missing.status == 401)
            #expect(missing.error == "missing bearer token")
            #expect(missing.headers["WWW-Authenticate"].first?.hasPrefix("Bearer") == true)
            #expect(try await HTTP.upgradeAttempt(http + "?token=wrong").status == 401)

            let viaQuery = try await TestSubscriber.connect(url + "?token=sub-secret-456")
            try await viaQuery.close()
            let viaHeader = try await TestSubscriber.connect(url, headers: [.authorization: "Bearer pub-secret-123"])
            let publish = try await HTTP.post(
                gateway.url("/publish"),
                #"{"topic": "cats", "message": "hi"}"#,
                headers: [("Authorization", "Bearer pub-secret-123")]
            )
            #expect(publish.json?["recipients"] as? Int == 1)
            #expect(try await viaHeader.message(1) == "hi")
            try await viaHeader.close()
        }
    }

    @Test func unknownIDIsStill404BehindAuth() async throws {
        try await RunningGateway.with(yaml: Self.yaml, environment: Self.environment) { gateway in
            let answer = try await HTTP.upgradeAttempt(gateway.url("/ws/00000000000000000000000000000000?token=sub-secret-456"))
            #expect(answer.status == 404)
        }
    }

    @Test func constantTimeComparison() {
        #expect(AuthFilter.constantTimeEquals(Array("abc".utf8), Array("abc".utf8)))
        #expect(!AuthFilter.constantTimeEquals(Array("abd".utf8), Array("abc".utf8)))
        #expect(!AuthFilter.constantTimeEquals(Array("ab".utf8), Array("abc".utf8)))
        #expect(!AuthFilter.constantTimeEquals(Array("abcabc".utf8), Array("abc".utf8)))
        #expect(!AuthFilter.constantTimeEquals([], Array("abc".utf8)))
        #expect(!AuthFilter.constantTimeEquals([], []))
    }
}
