import Foundation
import RelayConfig
import Testing

/// The file name used in errors of configs parsed from strings.
let testFile = "relay.yaml"

/// A minimal valid `listeners:` section, to append to configs that test other sections.
let minimalListeners = """
    listeners:
      - port: 0
        routes: [{path: /health, handler: health}]
    """

func parse(_ yaml: String, environment: [String: String] = [:]) throws(ConfigError) -> GatewayConfig {
    try ConfigLoader.parse(yaml: yaml, file: testFile, environment: environment)
}

/// The error `yaml` must fail with.
func parseError(
    _ yaml: String, environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation
) throws -> ConfigError {
    try #require(throws: ConfigError.self, sourceLocation: sourceLocation) {
        try parse(yaml, environment: environment)
    }
}

/// The options of a filter `f` whose mapping holds `type: test` followed by `body`
/// (YAML lines, unindented; line 1 of `body` is line 4 of the file).
func filterOptions(_ body: String, environment: [String: String] = [:]) throws -> ConfigMapping {
    let indented = body.split(separator: "\n", omittingEmptySubsequences: false).map { "    \($0)" }
    let yaml = "filters:\n  f:\n    type: test\n" + indented.joined(separator: "\n") + "\n" + minimalListeners
    return try #require(parse(yaml, environment: environment).filter(named: "f")).options
}

/// A file under the temporary directory, removed by `remove()`.
struct TemporaryFile {
    let path: String

    init(contents: String) throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("relayconfig-test-\(UUID().uuidString).yaml")
        try contents.write(to: url, atomically: true, encoding: .utf8)
        path = url.path
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
