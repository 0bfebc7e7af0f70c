import RelayConfig
import RelayCore
import Synchronization

/// Where each handler is served, with the ports the listeners actually bound: the `register`
/// handler builds subscribe URLs from it, and the `console` page finds `register`, `publish` and
/// `stats` through it, on its own listener or another.
public final class RouteDirectory: Sendable {
    private struct Entry: Sendable {
        let listener: String
        let host: String
        let configuredPort: Int
        let publicURL: String?
        /// Whether the listener serves TLS (`wss://` and `https://` URLs).
        let isSecure: Bool
        let handler: String
        let servesWebSocket: Bool
        let path: String
    }

    private let current: Mutex<[Entry]>
    private var entries: [Entry] { self.current.withLock { $0 } }
    /// Ports the listeners actually bound (they differ from the config for `port: 0`).
    private let boundPorts = Mutex<[String: Int]>([:])

    init(routeTable: RouteTable) {
        self.current = Mutex(Self.entries(of: routeTable))
    }

    /// A reload's routes; the bound ports stay.
    func replace(routeTable: RouteTable) {
        let entries = Self.entries(of: routeTable)
        self.current.withLock { $0 = entries }
    }

    private static func entries(of routeTable: RouteTable) -> [Entry] {
        routeTable.listeners.flatMap { listener in
            listener.routes.map { route in
                Entry(
                    listener: listener.config.name, host: listener.config.host, configuredPort: listener.config.port,
                    publicURL: listener.config.publicURL, isSecure: listener.config.tls != nil, handler: route.handler.name,
                    servesWebSocket: route.handler.servesWebSocket, path: route.path
                )
            }
        }
    }

    func listenerBound(_ listener: String, port: Int) {
        self.boundPorts.withLock { $0[listener] = port }
    }

    /// The URL a registration is answered with: the `public_url` of the listener serving the
    /// first subscribe route (or `ws://HOST:PORT` of it once bound), plus that route's path with
    /// the id filled in.
    public func subscribeURL(for id: ClientID) -> String {
        guard let route = self.entries.first(where: \.servesWebSocket) else { return "/" }
        let path = route.path.replacingOccurrences(of: "{client_id}", with: id.description)
        return self.origin(of: route, websocket: true, requestHost: nil) + path
    }

    /// The URL of a route serving `handler`: its path when `listener` serves it, else an absolute
    /// `http(s)://` URL on the listener that does; nil when no route serves it.
    /// - Parameter requestHost: the host the browser used, for listeners bound to a wildcard address.
    func url(of handler: String, from listener: String, requestHost: String?) -> String? {
        let candidates = self.entries.filter { $0.handler == handler }
        if let local = candidates.first(where: { $0.listener == listener }) {
            return local.path
        }
        guard let remote = candidates.first else { return nil }
        return self.origin(of: remote, websocket: false, requestHost: requestHost) + remote.path
    }

    /// `ws(s)://` or `http(s)://` and the authority of `entry`'s listener: its `public_url`, else
    /// its host (the request's, for a wildcard address, when given) and bound port, with the
    /// secure scheme on a TLS listener.
    private func origin(of entry: Entry, websocket: Bool, requestHost: String?) -> String {
        if let publicURL = entry.publicURL {
            let trimmed = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
            if websocket { return trimmed }
            if trimmed.hasPrefix("wss://") { return "https://" + trimmed.dropFirst("wss://".count) }
            return "http://" + trimmed.dropFirst("ws://".count)
        }
        let port = self.boundPorts.withLock { $0[entry.listener] } ?? entry.configuredPort
        let wildcard = ["0.0.0.0", "::", "[::]", ""].contains(entry.host)
        var host = wildcard ? (requestHost ?? entry.host) : entry.host
        if host.contains(":") && !host.hasPrefix("[") {
            host = "[\(host)]"
        }
        let scheme = websocket ? (entry.isSecure ? "wss" : "ws") : (entry.isSecure ? "https" : "http")
        return "\(scheme)://\(host):\(port)"
    }
}
