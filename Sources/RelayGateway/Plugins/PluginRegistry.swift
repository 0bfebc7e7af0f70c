/// Something the config names: a handler (`handler: publish`) or a filter type (`type: cors`).
public protocol NamedPlugin: Sendable {
    var name: String { get }
}

/// Plugins by the name the config uses for them. Adding a plugin is one file and one line in
/// its registry's `builtIn` list.
public struct PluginRegistry<Plugin: NamedPlugin>: Sendable {
    private let plugins: [String: Plugin]

    public init(_ plugins: [Plugin]) {
        self.plugins = Dictionary(plugins.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
    }

    public subscript(name: String) -> Plugin? { self.plugins[name] }

    /// Every name, sorted, for error messages.
    public var names: [String] { self.plugins.keys.sorted() }
}
