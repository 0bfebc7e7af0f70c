import Foundation
import RelayGateway
import Testing
import WebhookPlugins

/// The options of `hmac_signature`, checked at start-up with `file:line: key.path: message`.
@Suite struct ConfigTests {
    /// A config whose filter `signed` (line 8) has `type: hmac_signature` (line 9) and then
    /// `options`, one a line from line 10.
    static func config(_ options: String...) -> String {
        """
        tokens:
          hooks: s3cr3t-value
        listeners:
          - port: 0
            routes:
              - {path: "/hooks/{topic}", handler: webhook, filters: [signed]}
        filters:
          signed:
            type: hmac_signature

        """ + options.map { "    \($0)\n" }.joined()
    }

    /// The error building a gateway from `yaml` with this package's plugins, as printed.
    static func error(building yaml: String) -> String? {
        do {
            let plugins = try Plugins.builtIn.adding(WebhookPlugins.all)
            _ = try Gateway(config: try ConfigLoader.parse(yaml: yaml, file: "hooks.yaml", environment: [:]), plugins: plugins, logger: quietLogger)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func aValidDeclarationBuilds() {
        #expect(
            Self.error(building: Self.config("secret: hooks", "header: X-Hub-Signature-256", "timestamp_header: X-Hub-Timestamp", "window: 30s"))
                == nil)
    }

    @Test func anUnknownOptionIsRefusedAtItsLine() {
        let yaml = Self.config("secret: hooks", "algorithm: sha1")
        #expect(
            Self.error(building: yaml)
                == #"hooks.yaml:11: filters.signed: unknown key "algorithm" (allowed: type, secret, header, timestamp_header, window)"#
        )
    }

    @Test func badValuesNameTheirKeyPath() {
        let window = Self.error(building: Self.config("secret: hooks", "window: soon"))
        #expect(window?.hasPrefix("hooks.yaml:11: filters.signed.window: expected a duration") == true, "\(window ?? "built")")
        #expect(
            Self.error(building: Self.config("secret: hooks", "window: 500ms"))
                == "hooks.yaml:11: filters.signed.window: must be at least 1s"
        )
        #expect(
            Self.error(building: Self.config("secret: hooks", #"header: "X Sig""#))
                == "hooks.yaml:11: filters.signed.header: not a valid header field name"
        )
        #expect(
            Self.error(building: Self.config())
                == #"hooks.yaml:8: filters.signed: missing required key "secret""#
        )
    }

    @Test func anUndeclaredTokenListsTheNamesNeverTheSecrets() {
        let error = Self.error(building: Self.config("secret: github"))
        #expect(error == #"hooks.yaml:10: filters.signed.secret: unknown token "github" (declared in tokens: hooks)"#)
        #expect(error?.contains("s3cr3t") == false)
    }

    @Test func theExampleConfigBuildsWithASecretAndNotWithout() throws {
        let file = URL(filePath: #filePath).deletingLastPathComponent().appending(path: "../../webhooks.yaml").standardized.path
        let plugins = try Plugins.builtIn.adding(WebhookPlugins.all)
        let gateway = try Gateway(
            config: try ConfigLoader.load(file: file, environment: ["WEBHOOK_SECRET": "dev"]), plugins: plugins, logger: quietLogger
        )
        #expect("\(gateway.routeTable)".contains("/hooks/{topic}"))
        #expect(throws: ConfigError.self) { try ConfigLoader.load(file: file, environment: [:]) }
    }
}
