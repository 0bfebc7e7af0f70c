import HTTPTypes
import NIOHTTP1

/// RFC 9112 on a request head, before any route sees it: the request target and the `Host`
/// field (llhttp has refused versions other than HTTP/1.0 and 1.1 already). A head that breaks
/// them cannot be answered as asked; the engine answers it and closes the connection.
enum RequestHeadRules {
    /// A field on the wire in HTTP/1.1 (swift-http-types keeps it as the request's authority).
    private static let host = HTTPField.Name("Host")!

    /// The commonest request fields, as clients write them: found by one lookup instead of being
    /// checked and lowercased field by field (any other spelling takes the general path).
    private static let common: [String: HTTPField.Name] = Dictionary(
        uniqueKeysWithValues: [
            Self.host, .contentType, .contentLength, .accept, .acceptEncoding, .acceptLanguage, .userAgent, .connection,
            .authorization, .upgrade, .origin, .transferEncoding, .secWebSocketKey, .secWebSocketVersion, .secWebSocketExtensions,
            .cacheControl, .cookie, .expect,
        ].map { ($0.rawName, $0) }
    )

    /// The head as swift-http-types' `HTTPRequest` (for filters and handlers), or the refusal.
    static func request(from head: HTTPRequestHead) throws(HTTPError) -> Request {
        guard let method = HTTPRequest.Method(head.method.rawValue) else {
            throw HTTPError(.badRequest, "invalid method")
        }
        var fields = HTTPFields()
        fields.reserveCapacity(head.headers.count)
        var host: String?
        var hostCount = 0
        var transferEncoding = false
        for (name, value) in head.headers {
            guard let fieldName = Self.common[name] ?? HTTPField.Name(name) else {
                throw HTTPError(.badRequest, "invalid header field name")
            }
            if fieldName == Self.host {
                host = host ?? value
                hostCount += 1
                continue
            }
            if fieldName == .transferEncoding { transferEncoding = true }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        // §3.2: exactly one valid Host in HTTP/1.1; at most one in HTTP/1.0.
        if hostCount > 1 {
            throw HTTPError(.badRequest, "more than one Host header field")
        }
        if head.version.minor == 1 && host == nil {
            throw HTTPError(.badRequest, "missing Host header field")
        }
        if let host, !HostRules.isValid(host) {
            throw HTTPError(.badRequest, "invalid Host header field")
        }
        // §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
        if head.version.minor == 0 && transferEncoding {
            throw HTTPError(.badRequest, "Transfer-Encoding is not HTTP/1.0")
        }
        let (path, authority) = try Self.target(head.uri, host: host)
        return Request(method: method, target: path, authority: authority, headers: fields)
    }

    /// The path (with query) and authority of a request target: origin-form `/path?query`, or
    /// absolute-form `http://host/path`, whose authority wins over `Host` (§3.2.2).
    private static func target(_ uri: String, host: String?) throws(HTTPError) -> (path: String, authority: String?) {
        if uri.utf8.first == UInt8(ascii: "/") {
            return (uri, host)
        }
        for scheme in ["http://", "https://"] where uri.lowercased().hasPrefix(scheme) {
            let rest = uri.dropFirst(scheme.count)
            let end = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
            let authority = String(rest[..<end])
            guard HostRules.isValid(authority), !authority.isEmpty else { throw HTTPError(.badRequest, "invalid request target") }
            let path = rest[end...]
            return (path.first == "/" ? String(path) : "/" + path, authority)
        }
        throw HTTPError(.badRequest, "invalid request target: expected /path or http://host/path")
    }
}
