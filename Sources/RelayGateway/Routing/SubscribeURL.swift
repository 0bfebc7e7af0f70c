import RelayCore
import Synchronization

/// The `ws://` URL a registration is answered with: the `public_url` of the listener serving the
/// `subscribe` route (or `ws://HOST:PORT` of it once bound), plus that route's path with the id.
public final class SubscribeURL: Sendable {
    private let pathTemplate: String
    private let publicURL: String?
    private let host: String
    private let port: Mutex<Int>

    init(pathTemplate: String, publicURL: String?, host: String, port: Int) {
        self.pathTemplate = pathTemplate
        self.publicURL = publicURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.host = host
        self.port = Mutex(port)
    }

    /// Records the port the listener actually bound (for `port: 0`).
    func listenerBound(port: Int) {
        self.port.withLock { $0 = port }
    }

    public func url(for id: ClientID) -> String {
        let base = self.publicURL ?? "ws://\(Self.bracketed(self.host)):\(self.port.withLock { $0 })"
        let path = self.pathTemplate
            .replacingOccurrences(of: "{client_id}", with: id.description)
            .replacingOccurrences(of: ":client_id", with: id.description)
        return base + path
    }

    private static func bracketed(_ host: String) -> String {
        host.contains(":") ? "[\(host)]" : host
    }
}
