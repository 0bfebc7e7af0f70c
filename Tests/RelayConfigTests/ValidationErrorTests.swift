import RelayConfig
import Testing

/// One listener with a configurable body; line 1 is `listeners:`, line 2 is `  - name: main`.
private func listener(_ lines: String) -> String {
    "listeners:\n  - name: main\n" + lines.split(separator: "\n").map { "    \($0)" }.joined(separator: "\n") + "\n"
}

@Suite struct ListenerErrorTests {
    @Test func listenersRequired() throws {
        let error = try parseError("relay: {send_queue: 5}\n")
        #expect(error.description == "relay.yaml:1: missing required key \"listeners\"")
    }

    @Test func listenersMustBeAList() throws {
        let error = try parseError("listeners: {port: 1}\n")
        #expect(error.description == "relay.yaml:1: listeners: expected a list, got a mapping")
    }

    @Test func unknownListenerKeyAtItsLine() throws {
        let error = try parseError(listener("port: 8000\nprot: 8001\nroutes: [{path: /, handler: health}]"))
        #expect(error.line == 4)
        #expect(error.keyPath == "listeners[0]")
        #expect(error.message == "unknown key \"prot\" (allowed: name, host, port, public_url, max_connections, tls, filters, routes)")
    }

    @Test func tlsNeedsCertificateAndKey() throws {
        let error = try parseError(listener("port: 8443\ntls: {certificate: a.pem}\nroutes: [{path: /, handler: health}]"))
        #expect(error.description == "relay.yaml:4: listeners[0].tls: missing required key \"key\"")
    }

    @Test func tlsMinVersionIsOneOfTwo() throws {
        let error = try parseError(
            listener("port: 8443\ntls: {certificate: a.pem, key: a.key, min_version: \"1.1\"}\nroutes: [{path: /, handler: health}]"))
        #expect(error.description == "relay.yaml:4: listeners[0].tls.min_version: must be one of: 1.2, 1.3, got \"1.1\"")
    }

    @Test func tlsUnknownKey() throws {
        let error = try parseError(
            listener("port: 8443\ntls:\n  certificate: a.pem\n  key: a.key\n  ciphers: all\nroutes: [{path: /, handler: health}]"))
        #expect(error.description == "relay.yaml:7: listeners[0].tls: unknown key \"ciphers\" (allowed: certificate, key, min_version)")
    }

    @Test func tlsPathsAreRelativeToTheConfigFile() throws {
        let yaml = listener("port: 8443\ntls: {certificate: certs/a.pem, key: /etc/relay/a.key}\nroutes: [{path: /, handler: health}]")
        let config = try ConfigLoader.parse(yaml: yaml, file: "/etc/relay/relay.yaml", environment: [:])
        #expect(config.listeners[0].tls?.certificate == "/etc/relay/certs/a.pem")
        #expect(config.listeners[0].tls?.key == "/etc/relay/a.key")
        let local = try ConfigLoader.parse(yaml: yaml, file: "relay.yaml", environment: [:])
        #expect(local.listeners[0].tls?.certificate == "certs/a.pem", "a bare file name: relative to the working directory, like the file")
    }

    @Test func missingPort() throws {
        let error = try parseError(listener("routes: [{path: /, handler: health}]"))
        #expect(error.description == "relay.yaml:2: listeners[0]: missing required key \"port\"")
    }

    @Test(arguments: ["70000", "-1"])
    func portOutOfRange(port: String) throws {
        let error = try parseError(listener("port: \(port)\nroutes: [{path: /, handler: health}]"))
        #expect(error.description == "relay.yaml:3: listeners[0].port: must be between 0 and 65535, got \(port)")
    }

    @Test func portOfTheWrongType() throws {
        let error = try parseError(listener("host: 0.0.0.0\nport: abc\nroutes: [{path: /, handler: health}]"))
        #expect(error.description == "relay.yaml:4: listeners[0].port: expected an integer, got \"abc\"")
    }

    @Test func publicURLScheme() throws {
        let error = try parseError(listener("port: 1\npublic_url: http://x\nroutes: [{path: /, handler: health}]"))
        #expect(error.description == "relay.yaml:4: listeners[0].public_url: must start with ws:// or wss://, got \"http://x\"")
    }

    @Test func maxConnectionsAtLeastOne() throws {
        let error = try parseError(listener("port: 1\nmax_connections: 0\nroutes: [{path: /, handler: health}]"))
        #expect(error.description == "relay.yaml:4: listeners[0].max_connections: must be at least 1, got 0")
    }

    @Test func routesRequiredAndNonEmpty() throws {
        let missing = try parseError(listener("port: 1"))
        #expect(missing.message == "missing required key \"routes\"")
        let empty = try parseError(listener("port: 1\nroutes: []"))
        #expect(empty.description == "relay.yaml:4: listeners[0].routes: must list at least one route")
    }

    @Test func duplicateListenerName() throws {
        let error = try parseError(
            """
            listeners:
              - name: public
                port: 8000
                routes: [{path: /, handler: health}]
              - name: public
                port: 8001
                routes: [{path: /, handler: health}]
            """)
        #expect(error.description == "relay.yaml:5: listeners[1].name: duplicate listener name \"public\" (also listeners[0])")
    }

    @Test func defaultNameCollidesWithAnExplicitOne() throws {
        let error = try parseError(
            """
            listeners:
              - name: listener1
                port: 8000
                routes: [{path: /, handler: health}]
              - port: 8001
                routes: [{path: /, handler: health}]
            """)
        #expect(error.description == "relay.yaml:5: listeners[1]: duplicate listener name \"listener1\" (also listeners[0])")
    }

    @Test func sameHostAndPort() throws {
        let error = try parseError(
            """
            listeners:
              - name: a
                port: 8000
                routes: [{path: /, handler: health}]
              - name: b
                port: 8000
                routes: [{path: /, handler: health}]
            """)
        #expect(error.description == "relay.yaml:6: listeners[1].port: 127.0.0.1:8000 is already used by listener \"a\"")
    }

    @Test func portZeroAndDifferentHostsMayRepeat() throws {
        let config = try parse(
            """
            listeners:
              - {name: a, port: 0, routes: [{path: /, handler: health}]}
              - {name: b, port: 0, routes: [{path: /, handler: health}]}
              - {name: c, port: 8000, routes: [{path: /, handler: health}]}
              - {name: d, host: 0.0.0.0, port: 8000, routes: [{path: /, handler: health}]}
            """)
        #expect(config.listeners.map(\.name) == ["a", "b", "c", "d"])
    }
}

@Suite struct RouteErrorTests {
    @Test func pathMustStartWithSlash() throws {
        let error = try parseError(listener("port: 1\nroutes:\n  - {path: health, handler: health}"))
        #expect(error.description == "relay.yaml:5: listeners[0].routes[0].path: must start with \"/\", got \"health\"")
    }

    @Test func handlerRequired() throws {
        let error = try parseError(listener("port: 1\nroutes:\n  - path: /\n  - path: /x"))
        #expect(error.description == "relay.yaml:5: listeners[0].routes[0]: missing required key \"handler\"")
    }

    @Test func unknownRouteKey() throws {
        let error = try parseError(listener("port: 1\nroutes:\n  - path: /\n    handler: health\n    methd: GET"))
        #expect(error.description == "relay.yaml:7: listeners[0].routes[0]: unknown key \"methd\" (allowed: path, method, handler, filters)")
    }

    @Test func methodIsUppercasedAndChecked() throws {
        let config = try parse(listener("port: 1\nroutes: [{path: /, method: post, handler: publish}]"))
        #expect(config.listeners[0].routes[0].method == "POST")
        let error = try parseError(listener("port: 1\nroutes: [{path: /, method: \"GET /\", handler: health}]"))
        #expect(error.keyPath == "listeners[0].routes[0].method")
        #expect(error.message == "must be an HTTP method such as GET or POST, got \"GET /\"")
    }
}

@Suite struct FilterErrorTests {
    private let filters = "filters:\n  per_ip: {type: rate_limit}\n  cors: {type: cors}\n  access_log: {type: log}\n"

    @Test func undeclaredListenerFilter() throws {
        let error = try parseError(
            filters + """
                listeners:
                  - port: 1
                    filters: [cors, per_ipp]
                    routes: [{path: /, handler: health}]
                  - port: 2
                    filters: [nope]
                    routes: [{path: /, handler: health}]
                """)
        #expect(error.description == "relay.yaml:7: listeners[0].filters[1]: undeclared filter \"per_ipp\" (declared: access_log, cors, per_ip)")
    }

    @Test func undeclaredRouteFilter() throws {
        let error = try parseError(
            filters + """
                listeners:
                  - port: 1
                    routes:
                      - {path: /, handler: health}
                      - {path: /register, handler: register, filters: [per_ip, per_ipp]}
                """)
        #expect(error.keyPath == "listeners[0].routes[1].filters[1]")
        #expect(error.line == 9)
        #expect(error.message == "undeclared filter \"per_ipp\" (declared: access_log, cors, per_ip)")
    }

    @Test func secondListenerFilterKeyPath() throws {
        let error = try parseError(
            filters + """
                listeners:
                  - port: 1
                    routes: [{path: /, handler: health}]
                  - port: 2
                    filters: [nope]
                    routes: [{path: /, handler: health}]
                """)
        #expect(error.keyPath == "listeners[1].filters[0]")
        #expect(error.line == 9)
    }

    @Test func noFiltersDeclared() throws {
        let error = try parseError(listener("port: 1\nfilters: [cors]\nroutes: [{path: /, handler: health}]"))
        #expect(error.message == "undeclared filter \"cors\" (no filters are declared)")
    }

    @Test func filterWithoutType() throws {
        let error = try parseError("filters:\n  cors: {type: cors}\n  per_ip:\n    rate: 20/s\n" + minimalListeners)
        #expect(error.description == "relay.yaml:3: filters.per_ip: missing required key \"type\"")
    }

    @Test func filterTypeMustBeAString() throws {
        let error = try parseError("filters:\n  per_ip: {type: [a]}\n" + minimalListeners)
        #expect(error.description == "relay.yaml:2: filters.per_ip.type: expected a string, got a list")
    }

    @Test func filterOptionsAreLeftToThePlugins() throws {
        let config = try parse("filters:\n  f: {type: custom, anything: [1, 2], nested: {x: y}}\n" + minimalListeners)
        #expect(config.filter(named: "f")?.options.keys == ["type", "anything", "nested"])
    }
}

@Suite struct RelayErrorTests {
    private func relay(_ line: String) throws -> ConfigError {
        try parseError("relay:\n  \(line)\n" + minimalListeners)
    }

    @Test func unknownRelayKey() throws {
        let error = try relay("send_queu: 5")
        #expect(error.description.hasPrefix("relay.yaml:2: relay: unknown key \"send_queu\" (allowed: default_topics, "))
    }

    @Test func badDuration() throws {
        let error = try relay("registration_ttl: 10 minutes")
        #expect(error.keyPath == "relay.registration_ttl")
        #expect(error.line == 2)
        #expect(error.message == "expected a duration such as 250ms, 30s, 10m, 2h, 1d or 0 (a bare number means seconds), got \"10 minutes\"")
    }

    @Test func badSlowConsumer() throws {
        let error = try relay("slow_consumer: drop_newest")
        #expect(error.description == "relay.yaml:2: relay.slow_consumer: must be one of: close, drop_oldest, got \"drop_newest\"")
    }

    @Test func sendQueueAtLeastOne() throws {
        let error = try relay("send_queue: 0")
        #expect(error.description == "relay.yaml:2: relay.send_queue: must be at least 1, got 0")
    }

    @Test func maxMessageBytesIsAByteCount() throws {
        let error = try relay("max_message_bytes: lots")
        #expect(error.keyPath == "relay.max_message_bytes")
        #expect(error.message.hasPrefix("expected a size such as"))
    }

    @Test func relayMustBeAMapping() throws {
        let error = try relay("- a")
        #expect(error.description == "relay.yaml:1: relay: expected a mapping, got a list")
    }

    @Test func defaultTopicsRespectTheLimits() throws {
        let long = try parseError("relay:\n  max_topic_length: 3\n  default_topics: [cat, dogs]\n" + minimalListeners)
        #expect(long.description == "relay.yaml:3: relay.default_topics[1]: topic is longer than max_topic_length (3)")
        let many = try parseError("relay:\n  default_topics: [a, b, c]\n  max_topics_per_client: 2\n" + minimalListeners)
        #expect(many.description == "relay.yaml:2: relay.default_topics: 3 topics, more than max_topics_per_client (2)")
        let empty = try parseError("relay:\n  default_topics: [\"\"]\n" + minimalListeners)
        #expect(empty.description == "relay.yaml:2: relay.default_topics[0]: must not be empty")
    }
}
