import Foundation

/// Reads a config file into a validated `GatewayConfig`, or fails with the first `ConfigError`.
public enum ConfigLoader {
    static let topLevelKeys = ["relay", "tokens", "filters", "listeners", "cluster"]

    /// The largest config file read (16 MiB: some 200,000 routes); a bigger one, or an endless
    /// one such as `/dev/zero`, is refused before it is parsed.
    public static let maxFileBytes = 16 << 20

    /// Reads, interpolates, parses and validates. The file path is used verbatim in every error.
    public static func load(
        file: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> GatewayConfig {
        let bytes: [UInt8]
        do throws(ReadFailure) {
            bytes = try readCapped(file)
        } catch {
            throw ConfigError(file: file, keyPath: "", line: nil, message: error.message)
        }
        guard let yaml = String(validating: bytes, as: UTF8.self) else {
            throw ConfigError(file: file, keyPath: "", line: nil, message: "cannot read config file: not valid UTF-8 text")
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
        let relay =
            try sections.node("relay").map { node throws(ConfigError) in
                try RelaySettings(reading: node.mapping())
            } ?? RelaySettings()
        let tokens = try sections.node("tokens").map(TokenDeclaration.readAll) ?? []
        let filters = try sections.node("filters").map(FilterDeclaration.readAll) ?? []
        let listeners = try ListenerConfig.readAll(sections.required("listeners"), declared: filters)
        let cluster = try sections.node("cluster").map { node throws(ConfigError) in
            try ClusterConfig(
                reading: node.mapping(), historyTTL: relay.history.isEnabled ? relay.history.ttl : .zero, idempotencyWindow: relay.idempotencyWindow
            )
        }
        return GatewayConfig(file: file, relay: relay, tokens: tokens, filters: filters, listeners: listeners, cluster: cluster)
    }

    private struct ReadFailure: Error {
        let message: String
    }

    /// The file's bytes, read with plain POSIX calls so a failure names its errno ("No such file
    /// or directory", "Is a directory"); refused past `maxFileBytes`, however long it would go on.
    private static func readCapped(_ file: String) throws(ReadFailure) -> [UInt8] {
        func failure() -> ReadFailure {
            ReadFailure(message: "cannot read config file: \(String(cString: strerror(errno)))")
        }
        let descriptor = open(file, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure() }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count <= maxFileBytes {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure()
            }
            bytes += chunk[0..<count]
        }
        throw ReadFailure(message: "config file is larger than \(maxFileBytes >> 20) MiB")
    }
}
