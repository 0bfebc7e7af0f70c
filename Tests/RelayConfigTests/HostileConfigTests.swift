import Foundation
import RelayConfig
import Testing

/// Config files written to hurt: alias bombs, endless or huge files, paths that are patterns.
/// Each is refused quickly with an error naming the file and line, before anything grows.
@Suite struct HostileConfigTests {
    /// "Billion laughs": ten levels of ten aliases each, 10^10 strings once expanded, in 1 KB.
    static let aliasBomb: String = {
        var lines = ["a0: &a0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]"]
        for level in 1...9 {
            let previous = Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ")
            lines.append("a\(level): &a\(level) [\(previous)]")
        }
        return "relay:\n" + lines.map { "  " + $0 }.joined(separator: "\n") + "\n" + minimalListeners
    }()

    @Test func anAliasBombIsRefusedBeforeItExpands() throws {
        #expect(Self.aliasBomb.utf8.count < 1100)
        let start = ContinuousClock.now
        let error = try parseError(Self.aliasBomb)
        let took = ContinuousClock.now - start
        #expect(error.description == "relay.yaml:2: YAML anchors (&name) are not supported; write the value out")
        // Expanded, it would take minutes and gigabytes; refused from the tokens, it takes milliseconds.
        #expect(took < .seconds(5), "took \(took)")
    }

    @Test func anAliasAsAMappingKeyIsRefusedBeforeYamsHashesIt() throws {
        let yaml = Self.aliasBomb.replacingOccurrences(of: "listeners:", with: "  ? *a9\n  : x\nlisteners:")
        let error = try parseError(yaml)
        #expect(error.line == 2)
    }

    @Test func aliasesAndAnchorsAreRefusedEvenWhenHarmless() throws {
        let anchor = try parseError("relay:\n  default_topics: &topics [cats]\n" + minimalListeners)
        #expect(anchor.description == "relay.yaml:2: YAML anchors (&name) are not supported; write the value out")
        // An alias to an anchor on a later line: the first token found is the anchor's.
        let aliasOnly = try parseError("relay:\n  default_topics: *topics\n" + minimalListeners)
        #expect(aliasOnly.description == "relay.yaml:2: YAML aliases (*name) are not supported; write the value out")
    }

    /// libyaml's scanner is quadratic in flow nesting: 100,000 nested `[` kept `check` busy for
    /// more than 12 s. Nesting past 64 levels is refused from the first tokens, at once, on its line.
    @Test(arguments: [("lol: ", 0), ("relay:\n  default_topics: ", 1)])
    func deepNestingIsRefusedBeforeItIsScannedWhole(prefix: String, line: Int) throws {
        for depth in [65, 100_000] {
            let yaml = prefix + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n" + minimalListeners
            let start = ContinuousClock.now
            let error = try parseError(yaml)
            #expect(ContinuousClock.now - start < .seconds(1), "\(depth) levels took \(ContinuousClock.now - start)")
            #expect(error.description == "relay.yaml:\(line + 1): collections nested more than 64 deep are not supported")
        }
        // One line each, block collections count too.
        let block = (0..<70).map { String(repeating: " ", count: $0 * 2) + "k\($0):" }.joined(separator: "\n") + " x\n"
        #expect(try parseError(block).description == "relay.yaml:65: collections nested more than 64 deep are not supported")
        let fine =
            "relay:\n  default_topics: " + String(repeating: "[", count: 2) + "cats" + String(repeating: "]", count: 2) + "\n" + minimalListeners
        #expect(try parseError(fine).description.contains("nested") == false, "shallow nesting is left to the schema")
    }

    @Test func ampersandsAndStarsInsideValuesAreNotAnchors() throws {
        let config = try parse(
            """
            tokens: {a: "x&y*z", b: 'p *q &r', c: plain&text*here}
            filters:
              cors: {type: cors, allow_origins: ["*"]}
            \(minimalListeners)
            """)
        #expect(config.tokens.map(\.secret) == ["x&y*z", "p *q &r", "plain&text*here"])
    }

    @Test func aFileOverTheCapIsRefusedUnread() throws {
        let file = try TemporaryFile(contents: minimalListeners + "\n#" + String(repeating: "x", count: ConfigLoader.maxFileBytes) + "\n")
        defer { file.remove() }
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(file: file.path, environment: [:]) }
        #expect(error.description == "\(file.path): config file is larger than 16 MiB")
    }

    @Test func anEndlessFileIsRefusedToo() throws {
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(file: "/dev/zero", environment: [:]) }
        #expect(error.description == "/dev/zero: config file is larger than 16 MiB")
    }

    @Test func aDirectoryIsNotAConfigFile() throws {
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(file: "/tmp", environment: [:]) }
        #expect(error.description == "/tmp: cannot read config file: Is a directory")
    }

    static func route(_ path: String) -> String {
        "listeners:\n  - port: 0\n    routes:\n      - {path: \"\(path)\", handler: health}\n"
    }

    @Test(arguments: [
        ("/*", "wildcards are not supported: paths are literal (segment \"*\"); use {name} for one variable segment"),
        ("/files*", "wildcards are not supported: paths are literal (segment \"files*\")"),
        ("/x/**", "wildcards are not supported: paths are literal (segment \"**\")"),
        ("/h.*", "wildcards are not supported"),
        ("/{}", "a parameter is a whole segment {name} of letters, digits and _, not \"{}\""),
        ("/ws/:client_id", "parameters are written {name}, not \":client_id\""),
        ("/ws/id{client_id}", "a parameter is a whole segment {name}"),
        ("/ws/{client-id}", "a parameter is a whole segment {name}"),
        ("/a/{x}/b/{x}", "parameter {x} appears twice"),
        ("/health?x=1", "a path holds no spaces, control or non-ASCII characters, \"?\", \"#\" or \"\\\"; found \"?\""),
        ("/a b", "found U+0020"),
        ("/caf\u{e9}", "found U+00E9"),
        ("health", "must start with \"/\""),
    ])
    func pathsArePlainSegmentsAndParameters(path: String, expected: String) throws {
        let error = try parseError(Self.route(path))
        #expect(error.keyPath == "listeners[0].routes[0].path")
        #expect(error.line == 4)
        #expect(error.message.contains(expected), "\(error.message)")
    }

    @Test func pathsAreNormalisedLikeTheRouterDoes() throws {
        for (written, normalised, shape) in [
            ("/", "/", "/"), ("/health/", "/health", "/health"), ("//health", "/health", "/health"),
            ("/ws/{client_id}/", "/ws/{client_id}", "/ws/{}"), ("/a%20b", "/a%20b", "/a%20b"),
        ] {
            let path = try RoutePath(written)
            #expect(path.description == normalised)
            #expect(path.shape == shape)
        }
    }
}
