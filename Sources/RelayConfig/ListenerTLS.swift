/// A listener's `tls:` mapping: it serves HTTPS and `wss://` with this certificate and key.
///
/// Paths are taken as written when absolute, else relative to the config file's folder (so a
/// config and its certificates can move together). The files themselves are read and checked
/// when the gateway is built (`check` does the same), where errors name the key that gave them.
public struct ListenerTLS: Sendable, Equatable {
    /// The lowest protocol version a client may use.
    public enum Version: String, Sendable, CaseIterable {
        case tls12 = "1.2"
        case tls13 = "1.3"
    }

    /// A PEM file: the server's certificate first, then any intermediates.
    public var certificate: String
    /// A PEM file with the certificate's private key (unencrypted).
    public var key: String
    /// `min_version`, default 1.2.
    public var minVersion: Version
    /// Of `certificate`, `key` and the `tls` mapping itself, for errors found when the files are read.
    public var certificateLocation: ConfigLocation
    public var keyLocation: ConfigLocation
    public var location: ConfigLocation

    public init(
        certificate: String, key: String, minVersion: Version = .tls12,
        certificateLocation: ConfigLocation, keyLocation: ConfigLocation, location: ConfigLocation
    ) {
        self.certificate = certificate
        self.key = key
        self.minVersion = minVersion
        self.certificateLocation = certificateLocation
        self.keyLocation = keyLocation
        self.location = location
    }
}

extension ListenerTLS {
    static let allowedKeys = ["certificate", "key", "min_version"]

    init(reading node: ConfigNode) throws(ConfigError) {
        let mapping = try node.mapping()
        try mapping.rejectUnknownKeys(allowed: Self.allowedKeys)
        let certificateNode = try mapping.required("certificate")
        let keyNode = try mapping.required("key")
        self.init(
            certificate: Self.resolve(try certificateNode.nonEmptyString(), besideConfig: mapping.location.file),
            key: Self.resolve(try keyNode.nonEmptyString(), besideConfig: mapping.location.file),
            minVersion: try mapping.node("min_version")?.choice(Version.self) ?? .tls12,
            certificateLocation: certificateNode.location,
            keyLocation: keyNode.location,
            location: mapping.location
        )
    }

    /// `path` as written when absolute, else in the folder of `configFile`.
    static func resolve(_ path: String, besideConfig configFile: String) -> String {
        guard !path.hasPrefix("/"), let slash = configFile.lastIndex(of: "/") else { return path }
        return String(configFile[...slash]) + path
    }
}
