import RelayConfig
import Testing

@Suite struct LoadErrorTests {
    @Test func loadsAFile() throws {
        let file = try TemporaryFile(contents: designExample)
        defer { file.remove() }
        let config = try ConfigLoader.load(file: file.path, environment: ["RELAY_PUBLISH_TOKEN": "t"])
        #expect(config.file == file.path)
        #expect(config.listeners.map(\.port) == [8000])
    }

    @Test func errorsNameTheFileVerbatim() throws {
        let file = try TemporaryFile(contents: "listeners: []\n")
        defer { file.remove() }
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(file: file.path, environment: [:]) }
        #expect(error.description == "\(file.path):1: listeners: must list at least one listener")
    }

    @Test func missingFile() throws {
        let error = try #require(throws: ConfigError.self) {
            try ConfigLoader.load(file: "/nonexistent/relay.yaml", environment: [:])
        }
        #expect(
            error
                == ConfigError(
                    file: "/nonexistent/relay.yaml", keyPath: "", line: nil,
                    message: "cannot read config file: No such file or directory"
                ))
        #expect(error.description == "/nonexistent/relay.yaml: cannot read config file: No such file or directory")
    }

    @Test func syntaxErrorHasItsLine() throws {
        let error = try parseError(
            """
            relay:
              send_queue: 10
              slow_consumer: [close
            listeners: []
            """)
        #expect(error.line == 4)
        #expect(error.keyPath == "")
        #expect(error.message.hasPrefix("invalid YAML: "))
        #expect(!error.message.contains("\n"))
        #expect(!error.message.contains("YamlError"))
    }

    @Test func badIndentationIsASyntaxError() throws {
        let error = try parseError("listeners:\n  - port: 1\n   host: x\n")
        #expect(error.line == 3)
        #expect(error.message.hasPrefix("invalid YAML: "))
    }

    @Test func tabIndentationIsASyntaxError() throws {
        let error = try parseError("relay:\n\tsend_queue: 1\n")
        #expect(error.line == 2)
    }

    @Test(arguments: ["", "\n\n", "# only a comment\n", "~\n", "---\n"])
    func emptyDocument(yaml: String) throws {
        let error = try parseError(yaml)
        #expect(error.description == "relay.yaml: config file is empty")
    }

    @Test func twoDocuments() throws {
        let error = try parseError(minimalListeners + "\n---\n" + minimalListeners)
        #expect(error.line == 4)
        #expect(error.message.hasPrefix("invalid YAML: "))
    }

    @Test func rootMustBeAMapping() throws {
        let error = try parseError("- a\n- b\n")
        #expect(error.description == "relay.yaml:1: expected a mapping, got a list")
    }

    @Test func unknownTopLevelKey() throws {
        let error = try parseError(minimalListeners + "\nlistner: x\n")
        #expect(error.description == "relay.yaml:4: unknown key \"listner\" (allowed: relay, tokens, filters, listeners, cluster)")
    }

    @Test func duplicateKeyIsReportedAtTheSecondOccurrence() throws {
        let error = try parseError(
            """
            listeners:
              - port: 8000
                host: localhost
                port: 8001
                routes: [{path: /health, handler: health}]
            """)
        #expect(error.description == "relay.yaml:4: listeners[0]: duplicate key \"port\"")
    }

    @Test func duplicateQuotedKeyAndThirdOccurrence() throws {
        let quoted = try parseError("relay:\n  \"send_queue\": 1\n  send_queue: 2\n" + minimalListeners)
        #expect(quoted.description == "relay.yaml:3: relay: duplicate key \"send_queue\"")
        let flow = try parseError("filters: {a: {type: x}, b: {type: y}, a: {type: z}, a: {type: w}}\n" + minimalListeners)
        #expect(flow.line == 1)
        #expect(flow.message == "duplicate key \"a\"")
        let topLevel = try parseError(minimalListeners + "\n" + minimalListeners)
        #expect(topLevel.description == "relay.yaml:4: duplicate key \"listeners\"")
    }

    @Test func keysThatLookDifferentToYAMLButAreTheSameString() throws {
        let error = try parseError("filters:\n  f:\n    type: x\n    1: a\n    \"1\": b\n" + minimalListeners)
        #expect(error.description == "relay.yaml:5: filters.f: duplicate key \"1\"")
    }
}
