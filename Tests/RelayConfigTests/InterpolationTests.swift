import RelayConfig
import Testing

@Suite struct InterpolationTests {
    @Test func variableAndDefault() throws {
        let options = try filterOptions(
            """
            set: ${NAME}
            defaulted: ${MISSING:-fallback}
            empty_uses_default: ${EMPTY:-fallback}
            empty_without_default: "${EMPTY}"
            several: ${NAME}-${MISSING:-x}-${NAME}
            escaped: cost $$5 and $$${NAME}
            lone_dollar: a$b $
            """, environment: ["NAME": "relay", "EMPTY": ""])
        #expect(try options.required("set").string() == "relay")
        #expect(try options.required("defaulted").string() == "fallback")
        #expect(try options.required("empty_uses_default").string() == "fallback")
        #expect(try options.required("empty_without_default").string() == "")
        #expect(try options.required("several").string() == "relay-x-relay")
        #expect(try options.required("escaped").string() == "cost $5 and $relay")
        #expect(try options.required("lone_dollar").string() == "a$b $")
    }

    @Test func interpolatedValuesAreTypedAfterwards() throws {
        let yaml = """
            relay:
              send_queue: ${QUEUE:-16}
              registration_ttl: ${TTL:-5m}
            listeners:
              - port: ${PORT:-8000}
                routes: [{path: /health, handler: health}]
            """
        let defaults = try parse(yaml)
        #expect(defaults.listeners[0].port == 8000)
        #expect(defaults.relay.sendQueue == 16)
        #expect(defaults.relay.registrationTTL == .seconds(300))
        let overridden = try parse(yaml, environment: ["PORT": "9100", "TTL": "0"])
        #expect(overridden.listeners[0].port == 9100)
        #expect(overridden.relay.registrationTTL == .zero)
    }

    @Test func emptyInterpolationMakesAnOptionalKeyAbsent() throws {
        let config = try parse(
            """
            listeners:
              - port: 0
                public_url: ${PUBLIC_URL:-}
                routes: [{path: /health, handler: health}]
            """)
        #expect(config.listeners[0].publicURL == nil)
    }

    @Test func keysAreNotInterpolated() throws {
        let options = try filterOptions("${KEY}: 1", environment: ["KEY": "k"])
        #expect(options.keys == ["type", "${KEY}"])
    }

    @Test func unsetVariableIsAnErrorAtItsKey() throws {
        let error = try parseError(designExample)
        #expect(error.keyPath == "tokens.publisher")
        #expect(error.line == 8)
        #expect(
            error.description == "relay.yaml:8: tokens.publisher: environment variable RELAY_PUBLISH_TOKEN is not set"
                + " (write ${RELAY_PUBLISH_TOKEN:-default} to give a default)")
    }

    @Test func unsetVariableInsideAList() throws {
        let error = try parseError(
            """
            listeners:
              - port: 0
                routes:
                  - path: /
                    handler: health
                    filters:
                      - ${F}
            """)
        #expect(error.keyPath == "listeners[0].routes[0].filters[0]")
        #expect(error.line == 7)
    }

    /// In a flow collection `{` and `}` are YAML syntax, so a reference there must be quoted.
    @Test func quotedReferenceInAFlowCollection() throws {
        let config = try parse("listeners: [{port: \"${PORT}\", routes: [{path: /, handler: health}]}]", environment: ["PORT": "7"])
        #expect(config.listeners[0].port == 7)
    }

    @Test(arguments: ["${UNTERMINATED", "${}", "${1ABC}", "${A B}", "${VAR:default}", "${VAR-default}"])
    func malformedReferences(text: String) throws {
        let error = try parseError("tokens:\n  t: \"\(text)\"\n" + minimalListeners)
        #expect(error.line == 2)
        #expect(error.keyPath == "tokens.t")
        #expect(error.message.contains("${"))
        #expect(!error.message.contains("\n"))
    }
}
