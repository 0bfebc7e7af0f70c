import Foundation

/// Reads a config file into a validated `GatewayConfig`, or fails with the first `ConfigError`.
public enum ConfigLoader {
    static let topLevelKeys = ["relay", "tokens", "filters", "listeners", "cluster"]

    /// Reads, interpolates, parses and validates. The file path is used verbatim in every error.
    public static func load(
        file: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> GatewayConfig {
        let yaml: String
        do {
            yaml = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigError(file: file, keyPath: "", line: nil, message: "cannot read config file: \(reason(error))")
        }
        return try parse(yaml: yaml, file: file, environment: environment)
    }

    /// Interpolates, parses and validates `yaml`; `file` names it in errors.
    public static func parse(yaml: String, file: String, environment: [String: String]) throws(ConfigError) -> GatewayConfig {
        guard let root = try YAMLReader.read(yaml: yaml, file: file, environment: environment) else {
            throw ConfigError(file: file, keyPath: "", line: nil, message: "config file is empty")
        }
        let sections = try root.mapping()
        try sections.rejectUnknownKeys(allowed: topLevelKeys)
        let relay = try sections.node("relay").map { node throws(ConfigError) in
            try RelaySettings(reading: node.mapping())
        } ?? RelaySettings()
        let tokens = try sections.node("tokens").map(TokenDeclaration.readAll) ?? []
        let filters = try sections.node("filters").map(FilterDeclaration.readAll) ?? []
        let listeners = try ListenerConfig.readAll(sections.required("listeners"), declared: filters)
        let cluster = try sections.node("cluster").map { node throws(ConfigError) in
            try ClusterConfig(reading: node.mapping(), historyTTL: relay.history.isEnabled ? relay.history.ttl : .zero)
        }
        return GatewayConfig(file: file, relay: relay, tokens: tokens, filters: filters, listeners: listeners, cluster: cluster)
    }

    /// A short reason for a failed read, such as "No such file or directory".
    private static func reason(_ error: Error) -> String {
        if let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? POSIXError {
            return String(cString: strerror(underlying.code.rawValue))
        }
        if (error as? CocoaError)?.code == .fileReadInapplicableStringEncoding {
            return "not valid UTF-8 text"
        }
        return error.localizedDescription
    }
}
