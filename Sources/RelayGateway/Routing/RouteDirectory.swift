import RelayConfig
import Synchronization

/// Where each handler is served, so a page on one listener can link to routes on another (the
/// `console` page finds `register`, `publish` and `stats` this way).
public final class RouteDirectory: Sendable {
    private struct Entry: Sendable {
        let listener: String
        let host: String
        let configuredPort: Int
        let publicURL: String?
        let handler: String
        let path: String
    }

    private let entries: [Entry]
    /// Ports the listeners actually bound (they differ from the config for `port: 0`).
    private let boundPorts = Mutex<[String: Int]>([:])

    init(routeTable: RouteTable) {
        self.entries = routeTable.listeners.flatMap { listener in
            listener.routes.map { route in
                Entry(
                    listener: listener.config.name, host: listener.config.host, configuredPort: listener.config.port,
                    publicURL: listener.config.publicURL, handler: route.handler.name, path: route.path
                )
            }
        }
    }

    func listenerBound(_ listener: String, port: Int) {
        self.boundPorts.withLock { $0[listener] = port }
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
        return self.origin(of: remote, requestHost: requestHost) + remote.path
    }

    private func origin(of entry: Entry, requestHost: String?) -> String {
        if let publicURL = entry.publicURL {
            let trimmed = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
            if trimmed.hasPrefix("wss://") { return "https://" + trimmed.dropFirst("wss://".count) }
            return "http://" + trimmed.dropFirst("ws://".count)
        }
        let port = self.boundPorts.withLock { $0[entry.listener] } ?? entry.configuredPort
        let wildcard = ["0.0.0.0", "::", "[::]", ""].contains(entry.host)
        var host = wildcard ? (requestHost ?? "127.0.0.1") : entry.host
        if host.contains(":") && !host.hasPrefix("[") {
            host = "[\(host)]"
        }
        return "http://\(host):\(port)"
    }
}
