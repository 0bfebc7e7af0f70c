import Foundation
import HTTPTypes
import NIOCore
import RelayHTTP

/// `GET /console` (not in the default table): one self-contained page, embedded in the binary, to
/// register, subscribe, watch messages arrive, publish, and watch the gateway's `stats`.
///
/// The page finds the other routes through the ``RouteDirectory``: the URLs are written into it
/// where it says `/*RELAY_CONSOLE_CONFIG*/null`.
enum ConsoleHandler {
    static let placeholder = "/*RELAY_CONSOLE_CONFIG*/null"
    static let page = String(decoding: PackageResources.console_html, as: UTF8.self)

    /// What the page is told; nil where no route serves the handler.
    struct Endpoints: Encodable {
        let register: String?
        let unregister: String?
        let publish: String?
        let stats: String?
        /// The `events` route (Server-Sent Events), for "Use EventSource".
        let events: String?
    }

    /// Inline script and style only; fetches and WebSockets may go to the gateway's other listeners.
    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy:
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self' http: https: ws: "
            + "wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        .xContentTypeOptions: "nosniff",
        .cacheControl: "no-store",
        HTTPField.Name("Referrer-Policy")!: "no-referrer",
    ]

    static let plugin = HandlerPlugin(name: "console", defaultMethod: .get) { environment in
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return { request, _ in
            let host = request.authority.map(Self.hostname(ofAuthority:))
            let directory = environment.routes
            let listener = environment.listenerName
            let endpoints = Endpoints(
                register: directory.url(of: "register", from: listener, requestHost: host),
                unregister: directory.url(of: "unregister", from: listener, requestHost: host),
                publish: directory.url(of: "publish", from: listener, requestHost: host),
                stats: directory.url(of: "stats", from: listener, requestHost: host),
                events: directory.url(of: "events", from: listener, requestHost: host)
            )
            // JSONEncoder escapes "/", so no "</script>" can appear in the inlined object.
            let json = String(decoding: try encoder.encode(endpoints), as: UTF8.self)
            let body = ByteBuffer(string: Self.page.replacingOccurrences(of: Self.placeholder, with: json))
            var headers = Self.securityHeaders
            headers[.contentType] = "text/html; charset=utf-8"
            return .now(Response(status: .ok, headers: headers, body: body))
        }
    }

    /// `example.com:8000` → `example.com`; `[::1]:8000` → `::1`.
    static func hostname(ofAuthority authority: String) -> String {
        if authority.hasPrefix("["), let end = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<end])
        }
        if let colon = authority.lastIndex(of: ":") {
            return String(authority[..<colon])
        }
        return authority
    }
}
