extension ConfigNode {
    private static let durationForms = "a duration such as 250ms, 30s, 10m, 2h, 1d or 0 (a bare number means seconds)"
    private static let byteCountForms = "a size such as 1048576, 512KB, 64KiB, 1MiB or 1GiB"

    /// `250ms`, `30s`, `10m`, `2h`, `1d`, `0`, or a bare integer meaning seconds.
    public func duration() throws(ConfigError) -> Duration {
        let (amount, unit) = try numberAndUnit(expected: Self.durationForms)
        let seconds: Int
        switch unit {
        case "ms": return .milliseconds(amount)
        case "", "s": seconds = amount
        case "m": seconds = try scaled(amount, by: 60, expected: Self.durationForms)
        case "h": seconds = try scaled(amount, by: 3_600, expected: Self.durationForms)
        case "d": seconds = try scaled(amount, by: 86_400, expected: Self.durationForms)
        default: throw mismatch(Self.durationForms)
        }
        return .seconds(seconds)
    }

    /// A byte count: a bare integer, or a number with a unit: `B`, `KB`/`MB`/`GB`/`TB` (powers of
    /// 1000) or `KiB`/`MiB`/`GiB`/`TiB` (powers of 1024), in any letter case.
    public func byteCount() throws(ConfigError) -> Int {
        let (amount, unit) = try numberAndUnit(expected: Self.byteCountForms)
        let multiplier: Int
        switch unit.lowercased() {
        case "", "b": multiplier = 1
        case "kb": multiplier = 1_000
        case "mb": multiplier = 1_000_000
        case "gb": multiplier = 1_000_000_000
        case "tb": multiplier = 1_000_000_000_000
        case "kib": multiplier = 1 << 10
        case "mib": multiplier = 1 << 20
        case "gib": multiplier = 1 << 30
        case "tib": multiplier = 1 << 40
        default: throw mismatch(Self.byteCountForms)
        }
        return try scaled(amount, by: multiplier, expected: Self.byteCountForms)
    }

    /// Splits `64 KiB` into (64, "KiB"): leading decimal digits, optional spaces, then the unit.
    private func numberAndUnit(expected: String) throws(ConfigError) -> (Int, String) {
        let text = try scalarText(expected: expected)
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard let amount = Int(digits) else { throw mismatch(expected) }
        let unit = text.dropFirst(digits.count).drop { $0 == " " }
        return (amount, String(unit))
    }

    private func scaled(_ amount: Int, by factor: Int, expected: String) throws(ConfigError) -> Int {
        let (product, overflow) = amount.multipliedReportingOverflow(by: factor)
        guard !overflow else { throw mismatch(expected) }
        return product
    }
}
