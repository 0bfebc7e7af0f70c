/// A use of a declared filter by name, in a listener's or a route's `filters:` list.
public struct FilterReference: Sendable, Equatable {
    public var name: String
    /// Of the list item, e.g. `listeners[1].filters[0]`.
    public var location: ConfigLocation

    public init(name: String, location: ConfigLocation) {
        self.name = name
        self.location = location
    }

    /// Reads a list of filter names, each of which must be among the `declared` names.
    static func readList(_ node: ConfigNode, declared: Set<String>) throws(ConfigError) -> [FilterReference] {
        try node.list().map { item throws(ConfigError) in
            let name = try item.string()
            guard declared.contains(name) else {
                let names = declared.sorted()
                let known = names.isEmpty ? "no filters are declared" : "declared: \(names.joined(separator: ", "))"
                throw item.location.error("undeclared filter \"\(name)\" (\(known))")
            }
            return FilterReference(name: name, location: item.location)
        }
    }
}
