import HTTPTypes

/// One route of a listener, as the engine serves it.
public struct Route: Sendable {
    /// A path segment: matched as written, or any one segment, bound to a name.
    public enum Segment: Sendable, Hashable {
        case literal(String)
        case parameter(String)
    }

    public let method: HTTPRequest.Method
    public let segments: [Segment]
    /// The route's own filters and handler; the listener's filters run in front of them.
    public let responder: any Responder
    /// Whether WebSocket handshakes on this route are handed to its chain (else they are plain requests).
    public let acceptsWebSocket: Bool
    /// What the route says of itself to its filters and handler: each request's context starts
    /// with these attributes (the engine reads none of them).
    public let attributes: RequestAttributes

    public init(
        method: HTTPRequest.Method, segments: [Segment], responder: any Responder, acceptsWebSocket: Bool = false,
        attributes: RequestAttributes = RequestAttributes()
    ) {
        self.method = method
        self.segments = segments
        self.responder = responder
        self.acceptsWebSocket = acceptsWebSocket
        self.attributes = attributes
    }
}

/// A listener's routes, looked up by path and method without a task or an allocation for paths
/// without parameters. Paths are literal segments and `{name}` parameters; empty segments do not
/// count (`/health/` is `/health`); at each segment a literal beats a parameter. A known path
/// asked with another method answers 405 with `Allow`; an unknown one 404. `HEAD` is served
/// wherever `GET` is. Every answer, 404 and 405 included, runs behind the listener's filters.
public struct Router: Sendable {
    struct Endpoint: Sendable {
        let responder: any Responder
        let parameterNames: [String]
        let acceptsWebSocket: Bool
        let attributes: RequestAttributes
    }

    /// Every method served at one path, and the 405 answer for the others.
    struct PathEntry: Sendable {
        var methods: [HTTPRequest.Method: Endpoint] = [:]
        var methodNotAllowed: (any Responder)?
    }

    /// Built once by `init`, read only afterwards.
    final class Node: @unchecked Sendable {
        var literals: [String: Node] = [:]
        var parameter: Node?
        var entry: PathEntry?
    }

    /// What a request goes to.
    struct Match {
        let responder: any Responder
        let parameters: Parameters
        let acceptsWebSocket: Bool
        var attributes = RequestAttributes()
    }

    private let root = Node()
    /// Paths without parameters, normalised (`/health`): one dictionary lookup.
    private let literalPaths: [String: PathEntry]
    private let notFound: any Responder
    private let listenerFilters: [any RequestFilter]

    /// Later routes for a method and path already served replace earlier ones (the config
    /// refuses such duplicates before this is built).
    public init(routes: [Route], listenerFilters: [any RequestFilter]) {
        self.listenerFilters = listenerFilters
        var literalPaths: [String: PathEntry] = [:]
        for route in routes {
            let endpoint = Endpoint(
                responder: route.responder.behind(listenerFilters),
                parameterNames: route.segments.compactMap { segment in
                    if case .parameter(let name) = segment { return name }
                    return nil
                },
                acceptsWebSocket: route.acceptsWebSocket,
                attributes: route.attributes
            )
            var node = self.root
            for segment in route.segments {
                switch segment {
                case .literal(let text):
                    let next = node.literals[text] ?? Node()
                    node.literals[text] = next
                    node = next
                case .parameter:
                    let next = node.parameter ?? Node()
                    node.parameter = next
                    node = next
                }
            }
            var entry = node.entry ?? PathEntry()
            entry.methods[route.method] = endpoint
            node.entry = entry
        }
        // The 405 answers, once every method of a path is known.
        func finish(_ node: Node) {
            if var entry = node.entry {
                var allowed = entry.methods.keys.map(\.rawValue)
                if entry.methods[.get] != nil && entry.methods[.head] == nil { allowed.append("HEAD") }
                let allow = allowed.sorted().joined(separator: ", ")
                entry.methodNotAllowed = MethodNotAllowed(allow: allow).behind(listenerFilters)
                node.entry = entry
            }
            node.literals.values.forEach(finish)
            node.parameter.map(finish)
        }
        finish(self.root)
        for route in routes where !route.segments.contains(where: { if case .parameter = $0 { true } else { false } }) {
            let path =
                "/"
                + route.segments.map { segment in
                    if case .literal(let text) = segment { return text }
                    return ""
                }.joined(separator: "/")
            var node = self.root
            for case .literal(let text) in route.segments { node = node.literals[text]! }
            literalPaths[path] = node.entry
        }
        self.literalPaths = literalPaths
        self.notFound = NotFound().behind(listenerFilters)
    }

    /// `error` as the answer, behind the listener's filters (a request refused before its body).
    func refusal(_ error: HTTPError) -> any Responder {
        FixedAnswer(response: error.response).behind(self.listenerFilters)
    }

    /// The responder for `method` on `path` (no query).
    func match(method: HTTPRequest.Method, path: Substring) -> Match {
        if let entry = self.literalPaths[Self.normalisedKey(path)] {
            return self.match(method: method, entry: entry, values: [])
        }
        var values: [Substring] = []
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        if let entry = Self.find(segments[...], in: self.root, values: &values) {
            return self.match(method: method, entry: entry, values: values)
        }
        return Match(responder: self.notFound, parameters: Parameters(), acceptsWebSocket: false)
    }

    private func match(method: HTTPRequest.Method, entry: PathEntry, values: [Substring]) -> Match {
        guard let endpoint = entry.methods[method] ?? (method == .head ? entry.methods[.get] : nil) else {
            return Match(responder: entry.methodNotAllowed ?? self.notFound, parameters: Parameters(), acceptsWebSocket: false)
        }
        var parameters = Parameters()
        for (name, value) in zip(endpoint.parameterNames, values) {
            parameters.append(name, value)
        }
        return Match(
            responder: endpoint.responder, parameters: parameters, acceptsWebSocket: endpoint.acceptsWebSocket && method == .get,
            attributes: endpoint.attributes
        )
    }

    /// Depth-first, literal before parameter; the depth is bounded by the routes', so a request
    /// path of any length costs at most that many steps per route shape.
    private static func find(_ segments: ArraySlice<Substring>, in node: Node, values: inout [Substring]) -> PathEntry? {
        guard let segment = segments.first else { return node.entry }
        let rest = segments.dropFirst()
        if let next = node.literals[String(segment)], let found = Self.find(rest, in: next, values: &values) {
            return found
        }
        if let next = node.parameter {
            values.append(segment)
            if let found = Self.find(rest, in: next, values: &values) { return found }
            values.removeLast()
        }
        return nil
    }

    /// `path` itself when it is already normal (the common case: no copy of its segments).
    private static func normalisedKey(_ path: Substring) -> String {
        let bytes = path.utf8
        var previousSlash = false
        var normal = bytes.first == UInt8(ascii: "/")
        for byte in bytes {
            if byte == UInt8(ascii: "/") {
                if previousSlash {
                    normal = false
                    break
                }
                previousSlash = true
            } else {
                previousSlash = false
            }
        }
        if normal && (bytes.count == 1 || bytes.last != UInt8(ascii: "/")) {
            return String(path)
        }
        return "/" + path.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
    }
}

/// One answer, whatever the request.
struct FixedAnswer: Responder {
    let response: Response

    func respond(to request: Request, context: RequestContext) -> Reply {
        .now(self.response)
    }
}

/// 404 for a path no route serves.
struct NotFound: Responder {
    func respond(to request: Request, context: RequestContext) -> Reply {
        .now(HTTPError(.notFound, "not found").response)
    }
}

/// 405 for a served path asked with another method, with the methods it does serve.
struct MethodNotAllowed: Responder {
    let allow: String

    func respond(to request: Request, context: RequestContext) -> Reply {
        .now(
            HTTPError(.methodNotAllowed, "\(request.method.rawValue) is not allowed here; use \(self.allow)", headers: [.allow: self.allow]).response)
    }
}
