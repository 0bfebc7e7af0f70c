import Foundation
import Logging
import RelayConfig
import Testing

@testable import RelayGateway

/// `jwt`: tokens made at run time, checked through a live gateway over real HTTP and WebSockets.
@Suite struct JWTFilterTests {
    static let invalidToken = #"Bearer error="invalid_token""#

    /// The seed routes behind `filters`, which the test declares (`apps` guards register and subscribe).
    static func yaml(filters: String, publish: String = "[apps]", relay: String = "") -> String {
        let routeFilters = ["publish": publish, "register": "[apps]", "subscribe": "[apps]", "unregister": "[apps]", "events": "[apps]"]
        return """
            tokens: {hmac: "\(TestTokens.secret)"}
            filters:
            \(filters)
            \(RunningGateway.seedYAML(routeFilters: routeFilters, relay: relay))
            """
    }

    static let hmacFilters = """
          apps: {type: jwt, secret: hmac, issuer: relay-tests, audience: relay}
          publishers: {type: jwt, secret: hmac, algorithms: [HS256, HS512], require: {scope: publish}}
        """

    static func publish(_ gateway: RunningGateway, token: String?) async throws -> HTTPAnswer {
        try await HTTP.post(
            gateway.url("/publish"), #"{"topic": "news", "message": "hi"}"#, headers: token.map { [("Authorization", "Bearer \($0)")] } ?? []
        )
    }

    /// A token not seen before is checked off the event loop, so its answer comes late; a request
    /// with a body pipelined behind it, in the same write, is read whole and answered after it.
    @Test func aBodyPipelinedBehindALateAnswerIsReadWhole() async throws {
        let tokens = try await TestTokens.make()
        let token = try await tokens.token(.hs256(TestTokens.secret), ["sub": "7", "iss": "relay-tests", "aud": "relay"])
        try await RunningGateway.with(yaml: Self.yaml(filters: Self.hmacFilters)) { gateway in
            let body = #"{"topic": "news", "message": "hi"}"#
            let request =
                "POST /publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
            let socket = try RawSocket(port: gateway.port)
            socket.send(request + request)
            var answers = ""
            let deadline = ContinuousClock.now + .seconds(5)
            while answers.components(separatedBy: #"{"recipients":"#).count < 3, ContinuousClock.now < deadline {
                answers += String(decoding: await socket.receive(timeout: .milliseconds(100)), as: UTF8.self)
            }
            #expect(answers.components(separatedBy: "HTTP/1.1 200 OK").count - 1 == 2, "both answered: \(answers)")
            #expect(try await HTTP.get(gateway.url("/health")).status == 200)
        }
    }

    @Test func hmacTokensAreCheckedAndEveryRefusalSaysWhich() async throws {
        let tokens = try await TestTokens.make()
        let good: [String: JSONValue] = ["sub": "7", "iss": "relay-tests", "aud": ["relay", "other"]]
        try await RunningGateway.with(yaml: Self.yaml(filters: Self.hmacFilters)) { gateway in
            let missing = try await Self.publish(gateway, token: nil)
            #expect(missing.status == 401)
            #expect(missing.error == "missing bearer token")

            #expect(try await Self.publish(gateway, token: tokens.token(.hs256(TestTokens.secret), good)).status == 200)

            let refusals: [(String, String)] = [
                (TestTokens.raw(header: #"{"alg":"none","typ":"JWT"}"#, claims: #"{"sub":"7"}"#), "unsigned token (alg none) refused"),
                (try await tokens.token(.hs384(TestTokens.secret), good), "token algorithm HS384 is not accepted here (accepted: HS256)"),
                (try await tokens.token(.hs256("another-secret-of-thirty-two-bytes!!"), good), "token signature does not verify"),
                (try await tokens.token(.hs256(TestTokens.secret), good, expiresIn: -5), "token expired"),
                (
                    try await tokens.token(.hs256(TestTokens.secret), good.merging(["nbf": .number(Date().timeIntervalSince1970 + 600)]) { $1 }),
                    "token not valid yet (nbf)"
                ),
                (
                    try await tokens.token(.hs256(TestTokens.secret), good.merging(["iat": .number(Date().timeIntervalSince1970 + 600)]) { $1 }),
                    "token issued in the future (iat)"
                ),
                (try await tokens.token(.hs256(TestTokens.secret), good.merging(["iss": "elsewhere"]) { $1 }), #"token issuer is not "relay-tests""#),
                (
                    try await tokens.token(.hs256(TestTokens.secret), good.merging(["aud": "other"]) { $1 }),
                    #"token audience does not include "relay""#
                ),
                (
                    try await tokens.token(.hs256(TestTokens.secret), good.merging(["sub": -1]) { $1 }),
                    #"token claim "sub" must be a string or an integer ≥ 0"#
                ),
                ("not.a.jwt", "malformed token: expected three base64url parts, the first a JSON header"),
            ]
            for (token, reason) in refusals {
                let answer = try await Self.publish(gateway, token: token)
                #expect(answer.status == 401, "\(reason)")
                #expect(answer.error == reason)
                #expect(answer.headers["WWW-Authenticate"].first == Self.invalidToken)
                #expect(!answer.body.contains(token), "the token is never echoed")
            }
        }
    }

    /// What a correctly signed token must not carry: an extension it marks critical (none is
    /// understood here, RFC 7515 §4.1.11), an unencoded payload, or a member named twice in its
    /// header or claims (read as the first by some libraries, the last by others: refused).
    @Test func criticalExtensionsAndRepeatedMembersAreRefused() async throws {
        let future = Int(Date().timeIntervalSince1970) + 60
        let claims = #"{"sub":"7","iss":"relay-tests","aud":"relay","exp":\#(future)}"#
        try await RunningGateway.with(yaml: Self.yaml(filters: Self.hmacFilters)) { gateway in
            let accepted = try await TestTokens.rawHS256(header: #"{"alg":"HS256","typ":"JWT"}"#, claims: claims)
            #expect(try await Self.publish(gateway, token: accepted).status == 200, "the same token, nothing repeated, is fine")

            let refusals: [(header: String, claims: String, reason: String)] = [
                (
                    #"{"alg":"HS256","crit":["x-policy"],"x-policy":"strict"}"#, claims,
                    "token header marks extensions critical that this gateway does not support (crit: x-policy)"
                ),
                (
                    #"{"alg":"HS256","b64":false,"crit":["b64"]}"#, claims,
                    "token header marks extensions critical that this gateway does not support (crit: b64)"
                ),
                (#"{"alg":"HS256","b64":false}"#, claims, "tokens with an unencoded payload (b64) are not supported"),
                (#"{"alg":"HS256","typ":"JWT","alg":"none"}"#, claims, #"malformed token: its header names "alg" twice"#),
                (#"{"al\u0067":"HS256","alg":"HS256"}"#, claims, #"malformed token: its header names "alg" twice"#),
                (
                    #"{"alg":"HS256"}"#, #"{"sub":"7","iss":"relay-tests","aud":"relay","sub":"8","exp":\#(future)}"#,
                    #"malformed token: its claims name "sub" twice"#
                ),
                (
                    #"{"alg":"HS256"}"#, #"{"sub":"7","iss":"relay-tests","aud":"relay","exp":\#(future),"x":{"a":1,"a":2}}"#,
                    #"malformed token: its claims name "a" twice"#
                ),
            ]
            for refusal in refusals {
                let token = try await TestTokens.rawHS256(header: refusal.header, claims: refusal.claims)
                let answer = try await Self.publish(gateway, token: token)
                #expect(answer.status == 401, "\(refusal.header) \(refusal.claims)")
                #expect(answer.error == refusal.reason)
                #expect(answer.headers["WWW-Authenticate"].first == Self.invalidToken)
            }
        }
    }

    /// The scan behind the refusal above, on its own: names compared after their escapes are
    /// decoded, per object, at any depth; strings that are values never count as names.
    @Test func duplicateMemberScanFindsRepeatedNamesOnly() {
        func scan(_ json: String) -> String? { DuplicateMemberScan.firstDuplicate(in: Array(json.utf8)) }
        #expect(scan(#"{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}"#) == nil)
        #expect(scan(#"{"a":"a","b":["a","a"],"c":"b"}"#) == nil)
        #expect(scan(#"{"a":1,"b":2,"a":3}"#) == "a")
        #expect(scan(#"{"x":[{"k":1,"k":2}]}"#) == "k")
        #expect(scan(#"{"\ud83d\ude00":1,"😀":2}"#) == "😀")
        #expect(scan(#"{"q\"":1,"q\u0022":2}"#) == "q\"")
        #expect(scan(#"{"a":{"b":1},"b":2}"#) == nil)
    }

    /// A gateway's clock that starts on a whole second, so a token's `exp` can be exact.
    static func manualClock() -> ManualClock {
        ManualClock(secondsSince1970: Date().timeIntervalSince1970.rounded(.down))
    }

    /// A token sent again is not verified again, but its claims are checked each time.
    @Test func aTokenSentAgainIsCheckedAgainstTheClockEachTime() async throws {
        let tokens = try await TestTokens.make()
        let clock = Self.manualClock()
        try await RunningGateway.with(yaml: Self.yaml(filters: "  apps: {type: jwt, secret: hmac}"), clock: clock) { gateway in
            let token = try await tokens.token(.hs256(TestTokens.secret), ["sub": 1, "exp": .number(clock.secondsSince1970 + 2)])
            for _ in 0..<3 {
                #expect(try await Self.publish(gateway, token: token).status == 200)
            }
            try await clock.advance(by: .seconds(2) - .milliseconds(1))
            #expect(try await Self.publish(gateway, token: token).status == 200)
            try await clock.advance(by: .milliseconds(1))
            let late = try await Self.publish(gateway, token: token)
            #expect(late.status == 401)
            #expect(late.error == "token expired")
        }
    }

    @Test func aPublishRouteCanRequireAScope() async throws {
        let tokens = try await TestTokens.make()
        try await RunningGateway.with(yaml: Self.yaml(filters: Self.hmacFilters, publish: "[publishers]")) { gateway in
            let none = try await Self.publish(gateway, token: tokens.token(.hs256(TestTokens.secret), ["sub": 1]))
            #expect(none.status == 403)
            #expect(none.error == #"token claim "scope" does not contain "publish""#)
            #expect(none.headers["WWW-Authenticate"].first == #"Bearer error="insufficient_scope""#)
            #expect(try await Self.publish(gateway, token: tokens.token(.hs256(TestTokens.secret), ["scope": "read publish"])).status == 200)
            #expect(try await Self.publish(gateway, token: tokens.token(.hs512(TestTokens.secret), ["scope": ["publish"]])).status == 200)
            #expect(try await Self.publish(gateway, token: tokens.token(.hs256(TestTokens.secret), ["scope": "publisher"])).status == 403)
        }
    }

    @Test func publicKeysRefuseAnHMACTokenSignedWithThemAndPinTheirAlgorithm() async throws {
        let tokens = try await TestTokens.make()
        let filters = """
              apps: {type: jwt, public_key: "\(tokens.rsaPublicPEM)"}
            """
        try await RunningGateway.with(yaml: Self.yaml(filters: filters)) { gateway in
            #expect(try await Self.publish(gateway, token: tokens.token(.rs256, ["sub": 3])).status == 200)
            // The classic confusion: the public key's PEM used as an HMAC secret.
            let pem = try String(contentsOfFile: tokens.rsaPublicPEM, encoding: .utf8)
            let confused = try await Self.publish(gateway, token: tokens.token(.hs256(pem), ["sub": 3]))
            #expect(confused.status == 401)
            #expect(confused.error == "token algorithm HS256 is not accepted here (accepted: RS256)")
            #expect(try await Self.publish(gateway, token: tokens.token(.ps256, ["sub": 3])).error?.contains("PS256 is not accepted") == true)
        }
    }

    @Test func aJWKSFileVerifiesECAndEd25519TokensByKid() async throws {
        let tokens = try await TestTokens.make()
        let filters = """
              apps: {type: jwt, jwks: "\(tokens.jwks)", leeway: 30s}
            """
        let clock = Self.manualClock()
        try await RunningGateway.with(yaml: Self.yaml(filters: filters), clock: clock) { gateway in
            #expect(try await Self.publish(gateway, token: tokens.token(.es256(kid: "ec-1"), ["sub": 1])).status == 200)
            #expect(try await Self.publish(gateway, token: tokens.token(.eddsa(kid: "ed-1"), ["sub": 1])).status == 200)
            // Within the leeway, an expired token still passes; at its end, not.
            let lapsed = try await tokens.token(.eddsa(kid: "ed-1"), ["sub": 1, "exp": .number(clock.secondsSince1970 - 29)])
            #expect(try await Self.publish(gateway, token: lapsed).status == 200)
            try await clock.advance(by: .seconds(1))
            #expect(try await Self.publish(gateway, token: lapsed).error == "token expired")
            let stranger = try await TestTokens.make()
            let forged = try await Self.publish(gateway, token: stranger.token(.es256(kid: "ec-1"), ["sub": 1]))
            #expect(forged.error == "token signature does not verify")
            #expect(try await Self.publish(gateway, token: tokens.token(.rs256, ["sub": 1])).error?.contains("RS256 is not accepted") == true)
        }
    }

    @Test func registerTakesTheUserFromTheTokenAndKeepsOnlyAllowedDefaultTopics() async throws {
        let tokens = try await TestTokens.make()
        let filters = """
              apps: {type: jwt, secret: hmac}
            """
        let relay = "relay: {default_topics: [news, chat.lobby, admin]}"
        try await RunningGateway.with(yaml: Self.yaml(filters: filters, relay: relay)) { gateway in
            let token = try await tokens.token(.hs256(TestTokens.secret), ["sub": "42", "topics": ["news", "chat.*"]])
            let auth = [("Authorization", "Bearer \(token)")]
            let registered = try await HTTP.post(gateway.url("/register"), "", headers: auth)
            #expect(registered.status == 200)
            #expect(try await HTTP.post(gateway.url("/register"), #"{"user_id": 42}"#, headers: auth).status == 200)
            let other = try await HTTP.post(gateway.url("/register"), #"{"user_id": 41}"#, headers: auth)
            #expect(other.status == 403)
            #expect(other.error == #""user_id" 41 is not the user of the token"#)

            let url = try #require(registered.json?["url"] as? String)
            let id = String(url.split(separator: "/").last!)
            let clientID = try #require(ClientID(id))
            let registration = try #require(gateway.gateway.relay.registration(clientID))
            #expect(registration.userID == 42)
            #expect(registration.topics == ["news", "chat.lobby"])

            // A token whose user is no user id can publish (a backend) but not register.
            let backend = try await tokens.token(.hs256(TestTokens.secret), ["sub": "billing"])
            let notAnID = try await HTTP.post(gateway.url("/register"), "", headers: [("Authorization", "Bearer \(backend)")])
            #expect(notAnID.status == 403)
            #expect(notAnID.error == "the token's user is not a user id (an integer ≥ 0)")
            #expect(try await Self.publish(gateway, token: backend).status == 200)

            // Nor can a token that names no user, and a huge exp is no time.
            let anonymous = try await tokens.token(.hs256(TestTokens.secret), ["topics": ["news"]])
            let noUser = try await HTTP.post(gateway.url("/register"), #"{"user_id": 42}"#, headers: [("Authorization", "Bearer \(anonymous)")])
            #expect(noUser.status == 403)
            #expect(noUser.error == "the token names no user")
            let forever = try await tokens.token(.hs256(TestTokens.secret), ["sub": "42", "exp": 1e300])
            #expect(
                try await HTTP.post(gateway.url("/register"), "", headers: [("Authorization", "Bearer \(forever)")]).error
                    == #"token claim "exp" must be a number of seconds since 1970"#)

            // Another user's token cannot open or unregister this registration.
            let strangerAuth = [("Authorization", "Bearer \(try await tokens.token(.hs256(TestTokens.secret), ["sub": "43"]))")]
            let unregister = try await HTTP.request(.DELETE, gateway.url("/register/\(id)"), headers: strangerAuth)
            #expect(unregister.status == 403)
            let stranger = try await tokens.token(.hs256(TestTokens.secret), ["sub": "43"])
            let refused = try await HTTP.upgradeAttempt(url.replacingOccurrences(of: "ws://", with: "http://") + "?token=\(stranger)")
            #expect(refused.status == 403)
        }
    }

    @Test func aWebSocketKeepsOnlyTheTopicsItsTokenAllows() async throws {
        let tokens = try await TestTokens.make()
        let filters = """
              apps: {type: jwt, secret: hmac}
            """
        try await RunningGateway.with(yaml: Self.yaml(filters: filters)) { gateway in
            let token = try await tokens.token(.hs256(TestTokens.secret), ["sub": 5, "topics": ["news", "chat.*"]])
            let auth = [("Authorization", "Bearer \(token)")]
            let url = try await gateway.register(userID: 5, headers: auth)
            let subscriber = try await TestSubscriber.connect(url + "?token=\(token)")
            subscriber.send(#"{"topics": ["news", "chat.1", "secret", "admin"]}"#)
            #expect(try await subscriber.message(1) == #"{"error":"not allowed by the token: admin, secret"}"#)
            #expect(try await gateway.publish(topic: "secret", message: "no", headers: auth) == 0)
            #expect(try await gateway.publish(topic: "chat.1", message: "yes", headers: auth) == 1)
            #expect(try await subscriber.message(2) == "yes")
            try await subscriber.close()
        }
    }

    /// An event stream behind `jwt`: the token (in `?token=`, as EventSource must send it) names
    /// the user, its topic rights bound `?topics=`, and its expiry ends the stream.
    @Test func anEventStreamIsHeldToItsToken() async throws {
        let tokens = try await TestTokens.make()
        let clock = Self.manualClock()
        try await RunningGateway.with(yaml: Self.yaml(filters: "  apps: {type: jwt, secret: hmac}"), clock: clock) { gateway in
            let expiry: JSONValue = .number(clock.secondsSince1970 + 60)
            let token = try await tokens.token(.hs256(TestTokens.secret), ["sub": 5, "topics": ["news", "chat.*"], "exp": expiry])
            let url = try await gateway.register(userID: 5, headers: [("Authorization", "Bearer \(token)")])
            let id = String(url.split(separator: "/").last!)
            let other = try await tokens.token(.hs256(TestTokens.secret), ["sub": 6])
            let foreign = try await HTTP.get(gateway.url("/events/\(id)?token=\(other)"))
            #expect(foreign.status == 403 && foreign.error == "this client id is registered to another user than the token's")
            let refused = try await HTTP.get(gateway.url("/events/\(id)?token=\(token)&topics=news,admin"))
            #expect(refused.status == 403 && refused.error == "not allowed by the token: admin")
            let stream = try await EventStreamClient(port: gateway.port, path: "/events/\(id)?token=\(token)&topics=news,chat.1")
            #expect(stream.status == 200)
            try await eventually("attached") { gateway.gateway.relay.counts.connections == 1 }
            let publisher = [("Authorization", "Bearer \(token)")]
            #expect(try await gateway.publish(topic: "chat.1", message: "yes", headers: publisher) == 1)
            #expect(try await stream.messages(1) == ["yes"])
            try await clock.advance(by: .seconds(60) - .milliseconds(1))
            #expect(gateway.gateway.relay.counts.connections == 1, "open until the clock reaches exp")
            try await clock.advance(by: .milliseconds(1))
            await stream.readToEnd(timeout: .seconds(10))
            #expect(stream.events.last == ["event": "close", "data": "token expired"])
        }
    }

    /// Malformed renewals are error frames; the connection stays and is served.
    @Test func malformedTokenCommandsAreErrorFramesAndTheConnectionStays() async throws {
        let tokens = try await TestTokens.make()
        try await RunningGateway.with(yaml: Self.yaml(filters: "  apps: {type: jwt, secret: hmac}")) { gateway in
            let token = try await tokens.token(.hs256(TestTokens.secret), ["sub": 5], expiresIn: 600)
            let auth = [("Authorization", "Bearer \(token)")]
            let subscriber = try await TestSubscriber.connect(try await gateway.register(userID: 5, headers: auth) + "?token=\(token)")
            subscriber.send(#"{"token": 5}"#)
            #expect(try await subscriber.message(1) == #"{"error":"\"token\" must be a string"}"#)
            subscriber.send(#"{"token": "x", "topics": ["cats"]}"#)
            #expect(try await subscriber.message(2) == #"{"error":"send {\"token\": \"...\"} alone"}"#)
            subscriber.send(#"{"token": "not-a-jwt"}"#)
            #expect(try await subscriber.message(3).hasPrefix(#"{"error":"token refused: malformed token"#))
            #expect(try await gateway.publish(topic: "cats", message: "still served", headers: auth) == 1)
            #expect(try await subscriber.message(4) == "still served")
            try await subscriber.close()
        }
    }

    @Test func aWebSocketClosesAtExpiryUnlessItsTokenIsRenewed() async throws {
        let tokens = try await TestTokens.make()
        let clock = Self.manualClock()
        let filters = """
              apps: {type: jwt, secret: hmac}
            """
        try await RunningGateway.with(yaml: Self.yaml(filters: filters), clock: clock) { gateway in
            let long = try await tokens.token(.hs256(TestTokens.secret), ["sub": 5], expiresIn: 600)
            let auth = [("Authorization", "Bearer \(long)")]
            let expiry: JSONValue = .number(clock.secondsSince1970 + 60)
            let short = try await tokens.token(.hs256(TestTokens.secret), ["sub": 5, "topics": ["news", "chat.1"], "exp": expiry])

            let lapsing = try await TestSubscriber.connect(try await gateway.register(userID: 5, headers: auth) + "?token=\(short)")
            let renewing = try await TestSubscriber.connect(try await gateway.register(userID: 5, headers: auth) + "?token=\(short)")
            renewing.send(#"{"topics": ["news", "chat.1"]}"#)
            try await eventually("topics set", within: .seconds(5)) {
                (try? await gateway.publish(topic: "chat.1", message: "m0", headers: auth)) == 1
            }
            // Another user's token is refused, and the connection keeps its own.
            renewing.send(#"{"token": "\#(try await tokens.token(.hs256(TestTokens.secret), ["sub": 6], expiresIn: 600))"}"#)
            _ = try await renewing.message(3)
            let renewed = try await tokens.token(.hs256(TestTokens.secret), ["sub": 5, "topics": ["news"]], expiresIn: 600)
            renewing.send(#"{"token": "\#(renewed)"}"#)
            let frames = try await renewing.messages(5)
            // Registered without topic rights (the long token), opened with a token that allows fewer.
            #expect(frames[0] == #"{"notice":"topics not allowed by the token, dropped: cats"}"#)
            #expect(frames[1] == "m0")
            #expect(frames[2] == #"{"error":"token refused: it is for another user than the connection's"}"#)
            #expect(frames[3] == #"{"notice":"topics no longer allowed by the token: chat.1"}"#)
            #expect(frames[4].hasPrefix(#"{"token":"accepted","expires_at":"#))

            try await clock.advance(by: .seconds(60) - .milliseconds(1))
            #expect(gateway.gateway.relay.counts.connections == 2, "open until the clock reaches exp")
            // The clock runs what came due (the lapsing one's expiry; the renewed one's was replaced) before it returns.
            try await clock.advance(by: .milliseconds(1))
            let closed = try await lapsing.closeFrame(within: .seconds(10))
            #expect(closed?.closeCode == .policyViolation)
            #expect(closed?.reason == "token expired")
            #expect(try await gateway.publish(topic: "news", message: "still here", headers: auth) == 1)
            #expect(try await renewing.message(6) == "still here")
            #expect(renewing.received.count == 6)
            try await renewing.close()
        }
    }

    @Test func keyFilesAreReadAgainOnReload() async throws {
        let tokens = try await TestTokens.make()
        let other = try await TestTokens.make()
        let key = tokens.path("current.pem")
        try FileManager.default.copyItem(atPath: tokens.ecPublicPEM, toPath: key)
        let yaml = Self.yaml(filters: "  apps: {type: jwt, public_key: \"\(key)\"}")
        try await RunningGateway.with(yaml: yaml) { gateway in
            #expect(try await Self.publish(gateway, token: tokens.token(.es256(kid: nil), ["sub": 1])).status == 200)
            let old = try await tokens.token(.es256(kid: nil), ["sub": 1], expiresIn: 600)
            let opened = try await TestSubscriber.connect(
                try await gateway.register(userID: 1, headers: [("Authorization", "Bearer \(old)")]) + "?token=\(old)"
            )
            try FileManager.default.removeItem(atPath: key)
            try FileManager.default.copyItem(atPath: other.ecPublicPEM, toPath: key)
            try await gateway.gateway.reloader.reload(to: try ConfigLoader.parse(yaml: yaml, file: "test.yaml", environment: [:]))
            #expect(try await Self.publish(gateway, token: tokens.token(.es256(kid: nil), ["sub": 1])).status == 401)
            #expect(try await Self.publish(gateway, token: other.token(.es256(kid: nil), ["sub": 1])).status == 200)
            // A token of the old key the old filter had verified (and kept) is refused now too.
            #expect(try await Self.publish(gateway, token: old).status == 401)
            // The WebSocket opened with a token of the old key is checked again, and closed.
            let closed = try await opened.closeFrame(within: .seconds(5))
            #expect(closed?.closeCode == .policyViolation)
            #expect(closed?.reason == "token no longer accepted")
        }
    }

    @Test func optionsAreCheckedAtTheirKeyAndLine() async throws {
        let tokens = try await TestTokens.make()
        try "not a key".write(toFile: tokens.path("garbage.pem"), atomically: true, encoding: .utf8)
        let cases: [(String, String)] = [
            ("{type: jwt, secret: hmac, leway: 30s}", #"filters.apps: unknown key "leway""#),
            ("{type: jwt}", "filters.apps: give the key: secret: TOKEN_NAME (HMAC), public_key: FILE (PEM) or jwks: FILE"),
            ("{type: jwt, secret: hmac, public_key: x.pem}", "filters.apps: give one of secret, public_key and jwks, not secret and public_key"),
            ("{type: jwt, secret: short}", "filters.apps.secret: the token's secret is 5 bytes; an HMAC secret needs at least 32"),
            ("{type: jwt, secret: nope}", #"filters.apps.secret: unknown token "nope" (declared in tokens: hmac, short, half)"#),
            (
                "{type: jwt, secret: half, algorithms: [HS256, HS384]}",
                "filters.apps.secret: HS384 needs a secret of at least 48 bytes; the token's is 32"
            ),
            ("{type: jwt, secret: hmac, algorithms: [none]}", #"filters.apps.algorithms[0]: "none" is never accepted: a token must be signed"#),
            ("{type: jwt, secret: hmac, algorithms: [HS257]}", #"filters.apps.algorithms[0]: unknown algorithm "HS257""#),
            (
                "{type: jwt, public_key: \"\(tokens.rsaPublicPEM)\", algorithms: [HS256]}",
                "filters.apps.algorithms[0]: HS256 cannot be verified with an RSA key"
            ),
            ("{type: jwt, public_key: \"\(tokens.path("garbage.pem"))\"}", "not a PEM file (no -----BEGIN line)"),
            ("{type: jwt, public_key: \"\(tokens.rsaPrivatePEM)\"}", "holds a private key; give the public key"),
            ("{type: jwt, public_key: /nonexistent/key.pem}", "filters.apps.public_key: cannot read /nonexistent/key.pem"),
            ("{type: jwt, jwks: \"\(tokens.rsaPublicPEM)\"}", #"not a JWKS document ({"keys": [...]})"#),
            ("{type: jwt, secret: hmac, require: {scope: [publish]}}", "filters.apps.require.scope: expected"),
        ]
        for (filter, expected) in cases {
            let yaml = """
                tokens: {hmac: "\(TestTokens.secret)", short: "12345", half: "\(TestTokens.secret.prefix(32))"}
                filters:
                  apps: \(filter)
                \(RunningGateway.seedYAML(routeFilters: ["publish": "[apps]"]))
                """
            #expect {
                _ = try Gateway(config: try ConfigLoader.parse(yaml: yaml, file: "test.yaml", environment: [:]), logger: Logger(label: "test"))
            } throws: { error in
                "\(error)".contains(expected) && "\(error)".hasPrefix("test.yaml:")
            }
        }
    }
}
