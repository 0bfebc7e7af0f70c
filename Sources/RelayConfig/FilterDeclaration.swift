/// A named filter instance from `filters:`; `type` picks the plugin, which reads `options`.
public struct FilterDeclaration: Sendable {
    public var name: String
    public var type: String
    /// The filter's whole mapping. It still contains `type`, so plugins call
    /// `rejectUnknownKeys(allowed:)` with `"type"` among the allowed keys.
    public var options: ConfigMapping
    /// Of the entry `filters.NAME`.
    public var location: ConfigLocation
    /// Of `filters.NAME.type`.
    public var typeLocation: ConfigLocation

    public init(name: String, type: String, options: ConfigMapping, location: ConfigLocation, typeLocation: ConfigLocation) {
        self.name = name
        self.type = type
        self.options = options
        self.location = location
        self.typeLocation = typeLocation
    }

    /// Reads the `filters:` mapping of name to options, in file order. Only `type` is checked here.
    static func readAll(_ node: ConfigNode) throws(ConfigError) -> [FilterDeclaration] {
        try node.mapping().entries().map { entry throws(ConfigError) in
            let options = try entry.node.mapping()
            let typeNode = try options.required("type")
            return FilterDeclaration(
                name: entry.key,
                type: try typeNode.nonEmptyString(),
                options: options,
                location: entry.node.location,
                typeLocation: typeNode.location
            )
        }
    }
}
