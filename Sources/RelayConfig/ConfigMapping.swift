/// A YAML mapping whose keys keep file order.
public struct ConfigMapping: Sendable {
    /// One key and its value; the value's location carries the key's line.
    struct Entry: Sendable {
        let key: String
        let node: ConfigNode
    }

    public let location: ConfigLocation
    let items: [Entry]

    /// The keys, in file order.
    public var keys: [String] { items.map(\.key) }

    /// The value under `key` (key path `parent.key`), or nil when the key is absent or its value is empty.
    public func node(_ key: String) -> ConfigNode? {
        guard let node = items.first(where: { $0.key == key })?.node, !node.isEmpty else { return nil }
        return node
    }

    /// The value under `key`; throws `missing required key "port"` at this mapping's location,
    /// or "required key has no value" at the key's line.
    public func required(_ key: String) throws(ConfigError) -> ConfigNode {
        guard let node = items.first(where: { $0.key == key })?.node else {
            throw location.error("missing required key \"\(key)\"")
        }
        guard !node.isEmpty else { throw node.location.error("required key has no value") }
        return node
    }

    /// Throws at the first key, in file order, that is not in `allowed`, on that key's own line.
    public func rejectUnknownKeys(allowed: [String]) throws(ConfigError) {
        guard let unknown = items.first(where: { !allowed.contains($0.key) }) else { return }
        throw ConfigError(
            file: location.file,
            keyPath: location.keyPath,
            line: unknown.node.location.line,
            message: "unknown key \"\(unknown.key)\" (allowed: \(allowed.joined(separator: ", ")))"
        )
    }

    /// Every key and value, in file order, empty values included.
    public func entries() -> [(key: String, node: ConfigNode)] {
        items.map { (key: $0.key, node: $0.node) }
    }
}
