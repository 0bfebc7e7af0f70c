extension ConfigNode {
    /// Any scalar, as written (after interpolation).
    public func string() throws(ConfigError) -> String {
        try scalarText(expected: "a string")
    }

    /// A decimal integer such as `8000` or `-1`.
    public func int() throws(ConfigError) -> Int {
        guard let number = Int(try scalarText(expected: "an integer")) else { throw mismatch("an integer") }
        return number
    }

    /// `true`, `false`, `yes` or `no` (any letter case).
    public func bool() throws(ConfigError) -> Bool {
        switch try scalarText(expected: "true or false").lowercased() {
        case "true", "yes": return true
        case "false", "no": return false
        default: throw mismatch("true or false")
        }
    }

    /// A finite decimal number such as `0.5` or `20`.
    public func double() throws(ConfigError) -> Double {
        guard let number = Double(try scalarText(expected: "a number")), number.isFinite else {
            throw mismatch("a number")
        }
        return number
    }

    /// A list of scalars.
    public func stringList() throws(ConfigError) -> [String] {
        try list().map { item throws(ConfigError) in try item.string() }
    }

    /// The scalar's text, or a mismatch error naming `expected`.
    func scalarText(expected: String) throws(ConfigError) -> String {
        guard case .scalar(let text) = value else { throw mismatch(expected) }
        return text
    }
}
