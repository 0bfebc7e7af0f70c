/// Expands `${NAME}`, `${NAME:-default}` and `$$` in a scalar, with shell semantics: the default
/// also applies when NAME is set but empty. A `$` followed by anything else stays as written.
/// The default is taken literally up to the first `}`.
struct EnvironmentInterpolator: Sendable {
    let environment: [String: String]

    func expand(_ text: String, at location: ConfigLocation) throws(ConfigError) -> String {
        guard text.contains("$") else { return text }
        var result = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            let next = rest.index(after: dollar)
            if next == rest.endIndex || (rest[next] != "$" && rest[next] != "{") {
                result += "$"
                rest = rest[next...]
            } else if rest[next] == "$" {
                result += "$"
                rest = rest[rest.index(after: next)...]
            } else {
                let bodyStart = rest.index(after: next)
                guard let close = rest[bodyStart...].firstIndex(of: "}") else {
                    throw location.error("unterminated \"${\": close it with \"}\" (write \"$$\" for a literal \"$\")")
                }
                result += try value(of: rest[bodyStart..<close], at: location)
                rest = rest[rest.index(after: close)...]
            }
        }
        return result + rest
    }

    /// The value of a reference body: `NAME` or `NAME:-default`.
    private func value(of body: Substring, at location: ConfigLocation) throws(ConfigError) -> String {
        let name: Substring
        let fallback: Substring?
        if let separator = body.firstRange(of: ":-") {
            name = body[..<separator.lowerBound]
            fallback = body[separator.upperBound...]
        } else {
            name = body
            fallback = nil
        }
        guard Self.isValidName(name) else {
            throw location.error(
                "malformed \"${...}\": expected ${NAME} or ${NAME:-default}, NAME being letters, digits and underscores"
                    + " not starting with a digit (write \"$$\" for a literal \"$\")"
            )
        }
        let current = environment[String(name)]
        if let fallback {
            guard let current, !current.isEmpty else { return String(fallback) }
            return current
        }
        guard let current else {
            throw location.error("environment variable \(name) is not set (write ${\(name):-default} to give a default)")
        }
        return current
    }

    private static func isValidName(_ name: Substring) -> Bool {
        guard let first = name.first, !first.isNumber else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }
}
