/// A named secret from `tokens:`; filters refer to the name, never to the secret.
public struct TokenDeclaration: Sendable {
    public var name: String
    /// Never printed: no error message or description echoes it.
    public var secret: String
    /// Of the entry `tokens.NAME`.
    public var location: ConfigLocation

    public init(name: String, secret: String, location: ConfigLocation) {
        self.name = name
        self.secret = secret
        self.location = location
    }

    /// Reads the `tokens:` mapping of name to non-empty secret, in file order.
    static func readAll(_ node: ConfigNode) throws(ConfigError) -> [TokenDeclaration] {
        try node.redacted().mapping().entries().map { entry throws(ConfigError) in
            TokenDeclaration(name: entry.key, secret: try entry.node.nonEmptyString(), location: entry.node.location)
        }
    }
}
