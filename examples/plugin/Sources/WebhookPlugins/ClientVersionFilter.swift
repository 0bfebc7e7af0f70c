import RelayGateway

/// `type: min_client_version`: a request must say which version of the app sends it, in
/// `?client_version=` (what a browser's `WebSocket` and `EventSource` can send) or the
/// `X-Client-Version` header, and be at least `minimum`; else 426 with a JSON error.
///
/// It also checks again the subscribers it let in (``SubscriberRecheck``): when a reload raises
/// `minimum`, every open WebSocket or event stream of an older app is ended (1008, "client version
/// 1.2 is older than 2.0: update the app"), so a fix that needs new clients takes effect at once.
///
/// ```yaml
/// filters:
///   current_apps: {type: min_client_version, minimum: "2.0"}
/// ```
public struct ClientVersionFilter: RequestFilter, SubscriberRecheck {
    public static let plugin = FilterPlugin(type: "min_client_version") { declaration, _ throws(ConfigError) in
        ClientVersionFilter(options: try Options(declaration.options))
    }

    /// The filter's options, read from its declaration in one place, each error at its line.
    struct Options {
        let minimum: ClientVersion

        init(_ node: ConfigMapping) throws(ConfigError) {
            try node.rejectUnknownKeys(allowed: ["type", "minimum"])
            let minimum = try node.required("minimum")
            guard let version = ClientVersion(try minimum.nonEmptyString()) else {
                throw minimum.location.error("minimum must be a version such as 2.0 or 1.4.2")
            }
            self.minimum = version
        }
    }

    let options: Options

    public func handle(_ request: Request, context: RequestContext, next: any Responder) throws -> Reply {
        if let refusal = self.refusal(of: request) {
            throw HTTPError(.upgradeRequired, refusal)
        }
        return next.respond(to: request, context: context)
    }

    public func recheck(_ subscriber: OpenSubscriber) async -> Readmission {
        self.refusal(of: subscriber.handshake).map { .refuse($0) } ?? .keep
    }

    /// Why `request` is refused, or nil.
    private func refusal(of request: Request) -> String? {
        let field = HTTPField.Name("X-Client-Version")!
        guard let text = request.queryValue("client_version") ?? request.headers[field] else {
            return "say which version of the app this is (?client_version= or X-Client-Version)"
        }
        guard let version = ClientVersion(text) else {
            return "client version \"\(text)\" is not a version such as 2.0"
        }
        return version < self.options.minimum ? "client version \(version) is older than \(self.options.minimum): update the app" : nil
    }
}

/// A dotted version, `2.0` or `1.4.2`: compared number by number (missing numbers are 0).
struct ClientVersion: Comparable, CustomStringConvertible {
    let numbers: [Int]

    init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard !parts.isEmpty, parts.count <= 4 else { return nil }
        var numbers: [Int] = []
        for part in parts {
            guard let number = Int(part), number >= 0, part.allSatisfy(\.isASCII) else { return nil }
            numbers.append(number)
        }
        self.numbers = numbers
    }

    static func < (lhs: ClientVersion, rhs: ClientVersion) -> Bool {
        for index in 0..<max(lhs.numbers.count, rhs.numbers.count) {
            let (left, right) = (lhs.number(at: index), rhs.number(at: index))
            if left != right { return left < right }
        }
        return false
    }

    static func == (lhs: ClientVersion, rhs: ClientVersion) -> Bool { !(lhs < rhs) && !(rhs < lhs) }

    private func number(at index: Int) -> Int { index < self.numbers.count ? self.numbers[index] : 0 }

    var description: String { self.numbers.map(String.init).joined(separator: ".") }
}
