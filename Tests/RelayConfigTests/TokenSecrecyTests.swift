import RelayConfig
import Testing

@Suite struct TokenSecrecyTests {
    @Test(arguments: [
        "tokens: {publisher: [a, secret123]}",
        "tokens: {publisher: {secret123: x}}",
        "tokens:\n  publisher:\n    - secret123",
        "tokens: secret123",
        "tokens: [secret123]",
    ])
    func secretsNeverAppearInErrors(yaml: String) throws {
        let error = try parseError(yaml + "\n" + minimalListeners)
        #expect(!error.description.contains("secret123"))
    }

    @Test func wrongShapeErrorIsPrecise() throws {
        let error = try parseError("tokens: {publisher: [a, secret123]}\n" + minimalListeners)
        #expect(error.description == "relay.yaml:1: tokens.publisher: expected a string, got a list")
    }

    @Test func emptySecret() throws {
        let quoted = try parseError("tokens:\n  publisher: \"\"\n" + minimalListeners)
        #expect(quoted.description == "relay.yaml:2: tokens.publisher: must not be empty")
        let fromEnvironment = try parseError("tokens:\n  publisher: ${TOKEN:-}\n" + minimalListeners)
        #expect(fromEnvironment.description == "relay.yaml:2: tokens.publisher: expected a string, got an empty value")
    }

    @Test func secretsKeepFileOrder() throws {
        let config = try parse("tokens:\n  b: two\n  a: ${A}\n" + minimalListeners, environment: ["A": "one"])
        #expect(config.tokens.map(\.name) == ["b", "a"])
        #expect(config.tokens.map(\.secret) == ["two", "one"])
        #expect(config.token(named: "a")?.location.line == 3)
        #expect(config.token(named: "c") == nil)
    }
}
