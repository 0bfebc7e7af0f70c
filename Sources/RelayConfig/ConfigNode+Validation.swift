/// Typed reads with the range and shape checks the config sections share, for plugins as for the
/// built-in sections. Each throws a ``ConfigError`` at the node: `file:line: key.path: message`.
///
/// ```swift
/// let window = try options.node("window")?.duration() ?? .seconds(300)
/// let retries = try options.node("retries")?.int(in: 0...10) ?? 3
/// let secret = try options.required("secret").nonEmptyString()
/// ```
extension ConfigNode {
    /// An integer in `range`: "must be between 0 and 65535, got 70000".
    public func int(in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        let number = try int()
        guard range.contains(number) else {
            throw location.error("must be between \(range.lowerBound) and \(range.upperBound), got \(number)")
        }
        return number
    }

    /// An integer of at least `minimum`: "must be at least 1, got 0".
    public func int(atLeast minimum: Int) throws(ConfigError) -> Int {
        try checked(int(), atLeast: minimum)
    }

    /// A byte count of at least `minimum`.
    public func byteCount(atLeast minimum: Int) throws(ConfigError) -> Int {
        try checked(byteCount(), atLeast: minimum)
    }

    /// A string that is not empty.
    public func nonEmptyString() throws(ConfigError) -> String {
        let text = try string()
        guard !text.isEmpty else { throw location.error("must not be empty") }
        return text
    }

    /// One of an enum's raw values: "must be one of: close, drop_oldest".
    public func choice<Choice: RawRepresentable & CaseIterable>(_: Choice.Type) throws(ConfigError) -> Choice
    where Choice.RawValue == String {
        let allowed = Choice.allCases.map(\.rawValue).joined(separator: ", ")
        guard let choice = Choice(rawValue: try scalarText(expected: "one of: \(allowed)")) else {
            throw location.error("must be one of: \(allowed)\(gotSuffix)")
        }
        return choice
    }

    /// A file path that is not empty: as written when absolute, else in the config file's folder
    /// (so a config and the files it names can move together).
    public func path() throws(ConfigError) -> String {
        ListenerTLS.resolve(try nonEmptyString(), besideConfig: location.file)
    }

    private func checked(_ number: Int, atLeast minimum: Int) throws(ConfigError) -> Int {
        guard number >= minimum else { throw location.error("must be at least \(minimum), got \(number)") }
        return number
    }
}
