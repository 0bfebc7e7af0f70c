import Foundation
import Logging
import RelayConfig
import Testing

@testable import RelayGateway

/// Seeded, time-bounded fuzzing of the two parsers that read untrusted text: the config loader
/// (with the route table's plugin validation) and the subscriber command parser. Any input must
/// give a result or a typed error, never a crash.
@Suite(.heavy) struct FuzzTests {
    /// SplitMix64: a tiny deterministic generator, so a failure can be replayed from its seed.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            self.state &+= 0x9E37_79B9_7F4A_7C15
            var z = self.state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// The production example: every filter type, tokens, two listeners.
    static let seedConfig =
        (try? String(
            contentsOf: Program.packageRoot.appendingPathComponent("examples/production.yaml"), encoding: .utf8
        )) ?? ""

    static let yamlPieces = [
        ":", "-", " ", "\n", "{", "}", "[", "]", ",", "\"", "'", "#", "&a", "*a", "!!int", "${", "}", "${X:-1}", "$$",
        "0", "-1", "99999999999999999999", "1.5", "true", "null", "~", "\t", "é", "\u{0}", "ms", "/s", "type", "port",
    ]

    @Test func configLoaderSurvivesMutatedConfigs() {
        #expect(Self.seedConfig.contains("listeners:"))
        var random = SeededGenerator(state: 0xC0FFEE)
        let logger = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
        let deadline = ContinuousClock.now + .seconds(8)
        var accepted = 0
        var rejected = 0
        for iteration in 0..<3000 where ContinuousClock.now < deadline {
            var lines = Self.seedConfig.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let index = Int.random(in: 0..<lines.count, using: &random)
                var line = Array(lines[index])
                switch Int.random(in: 0..<5, using: &random) {
                case 0 where !line.isEmpty: line.remove(at: Int.random(in: 0..<line.count, using: &random))
                case 1: line.insert(contentsOf: Self.yamlPieces.randomElement(using: &random)!, at: Int.random(in: 0...line.count, using: &random))
                case 2: lines.insert(lines[index], at: index)
                case 3: lines.remove(at: index)
                default: line = Array(line.prefix(Int.random(in: 0...line.count, using: &random)))
                }
                if index < lines.count { lines[index] = String(line) }
            }
            let yaml = lines.joined(separator: "\n")
            do {
                let config = try ConfigLoader.parse(
                    yaml: yaml, file: "fuzz.yaml", environment: ["RELAY_PUBLISH_TOKEN": "p", "RELAY_SUBSCRIBE_TOKEN": "s"]
                )
                _ = try RouteTable(config: config, logger: logger)
                accepted += 1
            } catch {
                rejected += 1
                #expect(error.file == "fuzz.yaml", "iteration \(iteration)")
                #expect(!error.message.isEmpty, "iteration \(iteration)")
            }
        }
        #expect(accepted > 0)
        #expect(rejected > 0)
    }

    @Test func commandParserSurvivesRandomText() {
        var random = SeededGenerator(state: 0xBEEF)
        let pieces = [
            "{", "}", "[", "]", "\"topics\"", "\"resume\"", "\"envelope\"", "\"epoch\"", "\"offset\"", ":", ",", "\"a\"", "ping", " ", "\n", "1",
            "null", "\\u0000", "\\", "é", "\"", "true",
        ]
        var commands = 0
        for _ in 0..<20_000 {
            let text = (0..<Int.random(in: 0...12, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            if let command = try? ClientCommand.parse(text) {
                commands += 1
                if case .update(let update) = command {
                    #expect(update.topics == nil || text.contains("topics"), "\(text) -> \(update)")
                    #expect(update.resume.isEmpty || text.contains("resume"), "\(text) -> \(update)")
                }
            }
        }
        #expect(commands > 0)
    }
}
