/// Something the config names: a handler (`handler: publish`) or a filter type (`type: cors`).
public protocol NamedPlugin: Sendable {
    var name: String { get }
    /// Where it was declared (`Module/File.swift`), to tell two plugins of one name apart.
    var origin: String { get }
}

/// Two plugins that claim the same name: the gateway refuses to start rather than pick one.
public struct PluginConflict: Error, CustomStringConvertible {
    public let kind: String
    public let name: String
    public let origins: [String]

    public var description: String {
        "two \(self.kind) plugins are named \"\(self.name)\": one from \(self.origins[0]), one from \(self.origins[1])"
    }
}

/// Plugins by the name the config uses for them.
public struct PluginRegistry<Plugin: NamedPlugin>: Sendable {
    private let plugins: [String: Plugin]

    /// Throws when two of `plugins` share a name, naming where each came from.
    public init(_ plugins: [Plugin]) throws(PluginConflict) {
        var byName: [String: Plugin] = [:]
        for plugin in plugins {
            if let earlier = byName.updateValue(plugin, forKey: plugin.name) {
                throw PluginConflict(kind: Self.kind, name: plugin.name, origins: [earlier.origin, plugin.origin])
            }
        }
        self.plugins = byName
    }

    public subscript(name: String) -> Plugin? { self.plugins[name] }

    /// Every name, sorted, for error messages.
    public var names: [String] { self.plugins.keys.sorted() }

    /// Every plugin, by name.
    public var all: [Plugin] { self.names.compactMap { self.plugins[$0] } }

    private static var kind: String {
        switch Plugin.self {
        case is FilterPlugin.Type: "filter"
        case is HandlerPlugin.Type: "handler"
        default: "service"
        }
    }
}
