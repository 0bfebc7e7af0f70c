import Testing

@testable import RelayGateway

/// `rate_limit`: token buckets per key, 429 with the IETF headers, recovery, isolation, bounds.
@Suite(.timed) struct RateLimitFilterTests {
    /// The seed routes with one rate_limit filter `name` (with `options`) on the given handlers.
    static func yaml(_ name: String, _ options: String, on handlers: [String]) -> String {
        """
        filters:
          \(name): {type: rate_limit, \(options)}
        \(RunningGateway.seedYAML(routeFilters: Dictionary(uniqueKeysWithValues: handlers.map { ($0, "[\(name)]") })))
        """
    }

    static let perClient = yaml("per_client", #"rate: 1/m, burst: 2, key: "header:X-Client", max_keys: 16"#, on: ["health"])

    /// A request the limiter lets through but a later filter refuses still carries the headers.
    @Test func refusalsByLaterFiltersKeepTheHeaders() async throws {
        let yaml = RunningGateway.seedYAML(
            routeFilters: ["publish": "[per_ip, backends]"],
            relay:
                "tokens: {publisher: s3cret}\nfilters:\n  per_ip: {type: rate_limit, rate: 10/s, burst: 5, key: ip}\n  backends: {type: "
                + "auth, tokens: [publisher]}"
        )
        try await RunningGateway.with(yaml: yaml) { gateway in
            let refused = try await HTTP.post(gateway.url("/publish"), #"{"topic": "cats", "message": "m"}"#)
            #expect(refused.status == 401)
            #expect(refused.headers["RateLimit"].first == #""per_ip";r=4;t=1"#)
            #expect(refused.headers["RateLimit-Policy"].first == #""per_ip";q=5;w=1"#)
            #expect(refused.headers["WWW-Authenticate"].first == "Bearer")
        }
    }

    @Test func burstThen429WithHeaders() async throws {
        let yaml = Self.yaml("per_ip", "rate: 1/m, burst: 3, key: ip", on: ["register"])
        // The gateway's time stands still: the bucket does not refill while the test runs.
        try await RunningGateway.with(yaml: yaml, clock: ManualClock()) { gateway in
            for remaining in [2, 1, 0] {
                let answer = try await HTTP.post(gateway.url("/register"), #"{"user_id": 1}"#)
                #expect(answer.status == 200)
                #expect(answer.headers["RateLimit"].first == #""per_ip";r=\#(remaining);t=\#((3 - remaining) * 60)"#)
                #expect(answer.headers["RateLimit-Policy"].first == #""per_ip";q=3;w=180"#)
            }
            let limited = try await HTTP.post(gateway.url("/register"), #"{"user_id": 1}"#)
            #expect(limited.status == 429)
            #expect(limited.error?.hasPrefix("rate limit exceeded") == true)
            #expect(limited.headers["Retry-After"].first == "60")
            #expect(limited.headers["RateLimit"].first?.hasPrefix(#""per_ip";r=0"#) == true)
            #expect(gateway.gateway.relay.counts.registrations == 3)
        }
    }

    @Test func recoveryAfterTheWindow() async throws {
        let yaml = Self.yaml("per_ip", "rate: 1/s, burst: 1, key: ip", on: ["register"])
        let clock = ManualClock()
        try await RunningGateway.with(yaml: yaml, clock: clock) { gateway in
            #expect(try await HTTP.post(gateway.url("/register"), #"{"user_id": 1}"#).status == 200)
            let limited = try await HTTP.post(gateway.url("/register"), #"{"user_id": 1}"#)
            #expect(limited.status == 429)
            #expect(limited.headers["Retry-After"].first == "1")
            try await clock.advance(by: .milliseconds(999))
            #expect(try await HTTP.post(gateway.url("/register"), #"{"user_id": 1}"#).status == 429, "not refilled yet")
            try await clock.advance(by: .milliseconds(1))
            #expect(try await HTTP.post(gateway.url("/register"), #"{"user_id": 1}"#).status == 200)
        }
    }

    @Test func webSocketHandshakeGets429WithItsRealStatus() async throws {
        let yaml = Self.yaml("handshakes", "rate: 1/m, burst: 2, key: ip", on: ["subscribe"])
        try await RunningGateway.with(yaml: yaml) { gateway in
            let url = try await gateway.register(userID: 1)
            try await TestSubscriber.connect(url).close()
            try await TestSubscriber.connect(url).close()
            let refused = try await HTTP.upgradeAttempt(url.replacingOccurrences(of: "ws://", with: "http://"))
            #expect(refused.status == 429)
            #expect((55...60).contains(Int(refused.headers["Retry-After"].first ?? "") ?? 0))
            #expect(refused.headers["RateLimit-Policy"].first == #""handshakes";q=2;w=120"#)
            #expect(refused.error?.hasPrefix("rate limit exceeded") == true)
        }
    }

    @Test func keysAreIsolated() async throws {
        try await RunningGateway.with(yaml: Self.perClient) { gateway async throws in
            func status(client: String) async throws -> Int {
                try await HTTP.get(gateway.url("/health"), headers: [("X-Client", client)]).status
            }
            #expect(try await status(client: "a") == 200)
            #expect(try await status(client: "a") == 200)
            #expect(try await status(client: "a") == 429)
            #expect(try await status(client: "b") == 200)
        }
    }

    @Test func keyTableStaysBoundedUnderManyKeys() async throws {
        try await RunningGateway.with(yaml: Self.perClient) { gateway in
            for index in 0..<200 {
                _ = try await HTTP.get(gateway.url("/health"), headers: [("X-Client", "client-\(index)")])
            }
            let route = try #require(gateway.gateway.routeTable.listeners[0].routes.first { $0.handler.name == "health" })
            let limiter = try #require(route.filters.first?.middleware as? RateLimitFilter)
            #expect(limiter.buckets.count <= 16)
            #expect(limiter.buckets.count > 0)
        }
    }

    @Test func bucketsRefillAtTheRateUpToTheBurst() {
        let buckets = TokenBuckets(perSecond: 2, burst: 2, maxKeys: 10)
        let start = ContinuousClock.now
        #expect(buckets.take(key: "k", now: start).allowed)
        #expect(buckets.take(key: "k", now: start).allowed)
        let denied = buckets.take(key: "k", now: start)
        #expect(!denied.allowed)
        #expect(denied.retryAfterSeconds == 1)
        #expect(buckets.take(key: "k", now: start + .milliseconds(500)).allowed)
        #expect(!buckets.take(key: "k", now: start + .milliseconds(600)).allowed)
        // A long pause refills only up to the burst.
        let later = start + .seconds(60)
        #expect(buckets.take(key: "k", now: later).remaining == 1)
        #expect(buckets.take(key: "k", now: later).remaining == 0)
        #expect(!buckets.take(key: "k", now: later).allowed)
    }

    @Test func aBucketRefillsAsItsClockMoves() async throws {
        let clock = ManualClock()
        let buckets = TokenBuckets(perSecond: 0.5, burst: 1, maxKeys: 10, clock: clock)
        #expect(buckets.take(key: "k").allowed)
        #expect(buckets.take(key: "k").retryAfterSeconds == 2)
        try await clock.advance(by: .milliseconds(1_999))
        #expect(!buckets.take(key: "k").allowed)
        try await clock.advance(by: .seconds(2))
        #expect(buckets.take(key: "k").allowed, "a token every 2 s")
        #expect(!buckets.take(key: "k").allowed)
    }

    @Test func fullTableEvictsIdleKeysFirst() {
        let buckets = TokenBuckets(perSecond: 1, burst: 1, maxKeys: 4, shardCount: 1)
        let start = ContinuousClock.now
        for key in ["a", "b", "c", "d"] {
            _ = buckets.take(key: key, now: start)
        }
        #expect(buckets.count == 4)
        _ = buckets.take(key: "e", now: start + .seconds(5))
        #expect(buckets.count == 1)
        for key in ["f", "g", "h", "i", "j"] {
            _ = buckets.take(key: key, now: start + .seconds(5))
        }
        #expect(buckets.count <= 4)
    }

    @Test(arguments: ["fast", "0/s", "5/d", "-1/s", "5"])
    func badRatesAreConfigErrors(rate: String) throws {
        #expect(RateLimitFilter.Rate(rate) == nil)
    }
}
