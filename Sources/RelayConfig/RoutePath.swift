/// A route's path, parsed: literal segments and `{name}` parameters, nothing else.
///
/// Paths are literal: a segment matches exactly its own text, and `{name}` matches any one
/// segment. Empty segments do not count, so `/health`, `/health/` and `//health` are one path,
/// as they are to the router. Wildcards (`*`, `**`), `:name` parameters, parameters inside a
/// segment and characters no request path can carry are refused with a clear error.
public struct RoutePath: Sendable, Hashable, CustomStringConvertible {
    public enum Segment: Sendable, Hashable {
        case literal(String)
        case parameter(String)
    }

    public let segments: [Segment]

    /// The path with every parameter unnamed (`/ws/{}`): two routes with the same shape serve the
    /// same requests.
    public var shape: String {
        "/"
            + self.segments.map { segment in
                switch segment {
                case .literal(let text): text
                case .parameter: "{}"
                }
            }.joined(separator: "/")
    }

    /// The normalised path, parameters named (`/ws/{client_id}`).
    public var description: String {
        "/"
            + self.segments.map { segment in
                switch segment {
                case .literal(let text): text
                case .parameter(let name): "{\(name)}"
                }
            }.joined(separator: "/")
    }

    /// The names of its parameters, in order.
    public var parameters: [String] {
        self.segments.compactMap { segment in
            guard case .parameter(let name) = segment else { return nil }
            return name
        }
    }

    /// Why a path is refused.
    public struct Invalid: Error, Sendable, Equatable {
        public let message: String
    }

    public init(_ path: String) throws(Invalid) {
        guard path.hasPrefix("/") else { throw Invalid(message: "must start with \"/\"") }
        if let bad = path.unicodeScalars.first(where: { $0.value <= 0x20 || $0.value >= 0x7F || $0 == "?" || $0 == "#" || $0 == "\\" }) {
            let hex = String(bad.value, radix: 16, uppercase: true)
            let shown = bad.value <= 0x20 || bad.value >= 0x7F ? "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex : "\"\(bad)\""
            throw Invalid(
                message: "a path holds no spaces, control or non-ASCII characters, \"?\", \"#\" or \"\\\"; found \(shown) (percent-encode it)")
        }
        var segments: [Segment] = []
        var seen: Set<String> = []
        for raw in path.split(separator: "/", omittingEmptySubsequences: true) {
            let text = String(raw)
            if text.contains("*") {
                throw Invalid(message: "wildcards are not supported: paths are literal (segment \"\(text)\"); use {name} for one variable segment")
            }
            if text.hasPrefix(":") {
                throw Invalid(message: "parameters are written {name}, not \"\(text)\"")
            }
            guard text.contains("{") || text.contains("}") else {
                segments.append(.literal(text))
                continue
            }
            let name = text.dropFirst().dropLast()
            guard text.hasPrefix("{"), text.hasSuffix("}"), !name.isEmpty,
                name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
            else {
                throw Invalid(message: "a parameter is a whole segment {name} of letters, digits and _, not \"\(text)\"")
            }
            guard seen.insert(String(name)).inserted else {
                throw Invalid(message: "parameter {\(name)} appears twice")
            }
            segments.append(.parameter(String(name)))
        }
        self.segments = segments
    }
}
