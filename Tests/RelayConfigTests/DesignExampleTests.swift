import RelayConfig
import Testing

/// The example of DESIGN.md section 2, verbatim.
let designExample = """
    relay:
      default_topics: [cats]
      registration_ttl: 10m        # unconnected registrations expire; 0 = never
      send_queue: 1024             # messages buffered per connection before the slow-consumer policy acts
      slow_consumer: close         # close (code 1008, reason "slow consumer") | drop_oldest
      max_message_bytes: 1048576   # publish body and WS frame limit
    tokens:                        # name -> secret; filters refer to names, never to secrets
      publisher: ${RELAY_PUBLISH_TOKEN}
    filters:                       # named filter instances; `type` picks the plugin
      cors:       {type: cors, allow_origins: ["*"]}
      access_log: {type: log}
      per_ip:     {type: rate_limit, rate: 20/s, burst: 40, key: ip}
      publishers: {type: auth, tokens: [publisher]}
    listeners:
      - name: public
        host: 127.0.0.1
        port: 8000
        public_url: ws://127.0.0.1:8000   # optional
        filters: [access_log, cors]       # run first, for every route of this listener, in order
        routes:
          - {path: /health,                method: GET,    handler: health}
          - {path: /register,              method: POST,   handler: register, filters: [per_ip]}
          - {path: "/register/{client_id}", method: DELETE, handler: unregister}
          - {path: /publish,               method: POST,   handler: publish, filters: [publishers]}
          - {path: "/ws/{client_id}",       handler: subscribe}
    """

@Suite struct DesignExampleTests {
    let config: GatewayConfig

    init() throws {
        config = try parse(designExample, environment: ["RELAY_PUBLISH_TOKEN": "s3cret"])
    }

    @Test func relaySettings() {
        var expected = RelaySettings()
        expected.registrationTTL = .seconds(600)
        #expect(config.relay == expected)
        #expect(config.file == testFile)
    }

    @Test func tokens() throws {
        #expect(config.tokens.map(\.name) == ["publisher"])
        let token = try #require(config.token(named: "publisher"))
        #expect(token.secret == "s3cret")
        #expect(token.location == ConfigLocation(file: testFile, keyPath: "tokens.publisher", line: 8))
    }

    @Test func filtersKeepFileOrderAndOptions() throws {
        #expect(config.filters.map(\.name) == ["cors", "access_log", "per_ip", "publishers"])
        #expect(config.filters.map(\.type) == ["cors", "log", "rate_limit", "auth"])
        let perIP = try #require(config.filter(named: "per_ip"))
        #expect(perIP.location == ConfigLocation(file: testFile, keyPath: "filters.per_ip", line: 12))
        #expect(perIP.typeLocation.keyPath == "filters.per_ip.type")
        #expect(perIP.options.keys == ["type", "rate", "burst", "key"])
        #expect(try perIP.options.required("rate").string() == "20/s")
        #expect(try perIP.options.required("burst").int() == 40)
        let publishers = try #require(config.filter(named: "publishers"))
        #expect(try publishers.options.required("tokens").stringList() == ["publisher"])
        #expect(config.filter(named: "nope") == nil)
    }

    @Test func listener() throws {
        #expect(config.listeners.count == 1)
        let listener = try #require(config.listeners.first)
        #expect(listener.name == "public")
        #expect(listener.host == "127.0.0.1")
        #expect(listener.port == 8000)
        #expect(listener.publicURL == "ws://127.0.0.1:8000")
        #expect(listener.maxConnections == nil)
        #expect(
            listener.filters == [
                FilterReference(name: "access_log", location: ConfigLocation(file: testFile, keyPath: "listeners[0].filters[0]", line: 19)),
                FilterReference(name: "cors", location: ConfigLocation(file: testFile, keyPath: "listeners[0].filters[1]", line: 19)),
            ])
        #expect(listener.location == ConfigLocation(file: testFile, keyPath: "listeners[0]", line: 15))
    }

    @Test func routes() throws {
        let routes = try #require(config.listeners.first).routes
        #expect(routes.map(\.path) == ["/health", "/register", "/register/{client_id}", "/publish", "/ws/{client_id}"])
        #expect(routes.map(\.method) == ["GET", "POST", "DELETE", "POST", nil])
        #expect(routes.map(\.handler) == ["health", "register", "unregister", "publish", "subscribe"])
        #expect(routes.map { $0.filters.map(\.name) } == [[], ["per_ip"], [], ["publishers"], []])
        #expect(routes[2].location == ConfigLocation(file: testFile, keyPath: "listeners[0].routes[2]", line: 23))
        #expect(routes[2].handlerLocation == ConfigLocation(file: testFile, keyPath: "listeners[0].routes[2].handler", line: 23))
        #expect(routes[3].filters.first?.location.keyPath == "listeners[0].routes[3].filters[0]")
    }
}

@Suite struct DefaultsTests {
    @Test func relayDefaultsWhenAbsent() throws {
        let config = try parse(minimalListeners)
        let relay = config.relay
        #expect(relay.defaultTopics == ["cats"])
        #expect(relay.registrationTTL == .seconds(600))
        #expect(relay.sendQueue == 1024)
        #expect(relay.sendQueueBytes == 16 * 1_048_576)
        #expect(relay.slowConsumer == .close)
        #expect(relay.maxMessageBytes == 1_048_576)
        #expect(relay.maxTopicsPerClient == 64)
        #expect(relay.maxTopicLength == 256)
        #expect(relay == RelaySettings())
        #expect(config.tokens.isEmpty)
        #expect(config.filters.isEmpty)
    }

    @Test func emptyRelaySectionKeepsDefaults() throws {
        let config = try parse("relay:\n  # nothing yet\n" + minimalListeners)
        #expect(config.relay == RelaySettings())
    }

    @Test func listenerDefaults() throws {
        let config = try parse(
            """
            listeners:
              - port: 8000
                routes: [{path: /health, handler: health}]
              - port: 8001
                routes: [{path: /health, handler: health}]
            """)
        #expect(config.listeners.map(\.name) == ["listener0", "listener1"])
        #expect(config.listeners.map(\.host) == ["127.0.0.1", "127.0.0.1"])
        #expect(config.listeners.allSatisfy { $0.publicURL == nil && $0.filters.isEmpty })
    }

    @Test func everyRelaySetting() throws {
        let config = try parse(
            """
            relay:
              default_topics: [news, sport]
              registration_ttl: 0
              send_queue: 8
              send_queue_bytes: 2MiB
              slow_consumer: drop_oldest
              max_message_bytes: 64KiB
              max_topics_per_client: 4
              max_topic_length: 32
            """ + "\n" + minimalListeners)
        #expect(config.relay.defaultTopics == ["news", "sport"])
        #expect(config.relay.registrationTTL == .zero)
        #expect(config.relay.sendQueue == 8)
        #expect(config.relay.sendQueueBytes == 2 * 1_048_576)
        #expect(config.relay.slowConsumer == .dropOldest)
        #expect(config.relay.maxMessageBytes == 65_536)
        #expect(config.relay.maxTopicsPerClient == 4)
        #expect(config.relay.maxTopicLength == 32)
    }
}
