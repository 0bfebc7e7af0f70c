/// A YAML value with its place in the file (after `${VAR}` interpolation), read with typed
/// accessors that throw `ConfigError` at this node's location.
///
/// A plain scalar that is empty, `~` or `null` (after interpolation) is an empty value:
/// `ConfigMapping.node(_:)` treats a key holding one as absent.
public struct ConfigNode: Sendable {
    /// The shape of a node's value.
    enum Value: Sendable {
        case empty
        case scalar(String)
        case mapping([ConfigMapping.Entry])
        case list([ConfigNode])
    }

    public let location: ConfigLocation
    let value: Value
    /// Set under `tokens`: error messages never echo a secret node's text.
    let isSecret: Bool

    init(location: ConfigLocation, value: Value, isSecret: Bool = false) {
        self.location = location
        self.value = value
        self.isSecret = isSecret
    }

    /// This value as a mapping; throws "expected a mapping".
    public func mapping() throws(ConfigError) -> ConfigMapping {
        guard case .mapping(let entries) = value else { throw mismatch("a mapping") }
        return ConfigMapping(location: location, items: entries)
    }

    /// This value as a list; its items have key paths `parent[i]`. Throws "expected a list".
    public func list() throws(ConfigError) -> [ConfigNode] {
        guard case .list(let items) = value else { throw mismatch("a list") }
        return items
    }

    var isEmpty: Bool {
        if case .empty = value { return true }
        return false
    }

    /// The same subtree with every node marked secret.
    func redacted() -> ConfigNode {
        let redactedValue: Value
        switch value {
        case .empty, .scalar:
            redactedValue = value
        case .mapping(let entries):
            redactedValue = .mapping(entries.map { ConfigMapping.Entry(key: $0.key, node: $0.node.redacted()) })
        case .list(let items):
            redactedValue = .list(items.map { $0.redacted() })
        }
        return ConfigNode(location: location, value: redactedValue, isSecret: true)
    }

    /// "expected X, got Y", echoing the value only when it is short and not secret.
    func mismatch(_ expected: String) -> ConfigError {
        switch value {
        case .empty: location.error("expected \(expected), got an empty value")
        case .mapping: location.error("expected \(expected), got a mapping")
        case .list: location.error("expected \(expected), got a list")
        case .scalar: location.error("expected \(expected)\(gotSuffix)")
        }
    }

    /// `, got "text"` for a short, non-secret scalar; empty otherwise.
    var gotSuffix: String {
        guard case .scalar(let text) = value, !isSecret, text.count <= 40, !text.contains("\n") else { return "" }
        return ", got \"\(text)\""
    }
}
