import NIOCore
import NIOWebSocket
import RelayConfig
import RelayHTTP
import Synchronization

/// A filter that can tell, for a WebSocket it let in, whether its new options still would: on a
/// config reload, `auth` refuses a token no longer listed and `cors` an origin no longer allowed.
/// (`jwt` checks a connection's current token again, asynchronously: ``ClientFrameHandler/recheck(with:)``.)
protocol ReadmissionCheck {
    /// Why the handshake `request` (which opened a WebSocket) would be refused now; nil if it would not.
    func refusal(ofOpened request: Request) -> String?
}

/// Every open WebSocket with the handshake that opened it and its listener, so a reload can close
/// the ones whose credentials the new config no longer accepts (1008, with the reason), and
/// only those.
final class OpenWebSockets: Sendable {
    private struct Entry: Sendable {
        let listener: String
        let handshake: Request
        let outbound: NIOLoopBound<SubscriberOutbound>
        /// Nil for an event stream: it takes no renewed token, so a reload's `jwt` check of it is
        /// its handshake's (``ReadmissionCheck``), like `auth`'s.
        let frames: NIOLoopBound<ClientFrameHandler>?
    }

    private let entries = Mutex<[ObjectIdentifier: Entry]>([:])

    /// Keeps `outbound` (on `channel`) until the channel closes.
    func opened(_ outbound: SubscriberOutbound, frames: ClientFrameHandler?, on channel: any Channel, listener: String, handshake: Request) {
        let key = ObjectIdentifier(outbound)
        let entry = Entry(
            listener: listener, handshake: handshake, outbound: NIOLoopBound(outbound, eventLoop: channel.eventLoop),
            frames: frames.map { NIOLoopBound($0, eventLoop: channel.eventLoop) }
        )
        self.entries.withLock { $0[key] = entry }
        channel.closeFuture.whenComplete { _ in
            _ = self.entries.withLock { $0.removeValue(forKey: key) }
        }
    }

    var count: Int { self.entries.withLock { $0.count } }

    /// Closes every WebSocket of the listener `name`, after what is already queued to it; returns how many.
    func closeAll(on name: String, code: WebSocketErrorCode, reason: String, cause: RelayMetrics.CloseCause) -> Int {
        let open = self.entries.withLock { $0.values.filter { $0.listener == name } }
        for entry in open {
            let outbound = entry.outbound
            outbound.eventLoop.execute {
                outbound.value.close(code: code, reason: reason, cause: cause, afterQueued: true)
            }
        }
        return open.count
    }

    /// Closes each WebSocket that a filter of `routeTable` (its listener's, then its route's)
    /// would no longer let in; returns how many.
    func closeRefused(by routeTable: RouteTable) -> Int {
        let open = self.entries.withLock { Array($0.values) }
        var closed = 0
        for entry in open {
            guard let listener = routeTable.listeners.first(where: { $0.config.name == entry.listener }) else { continue }
            let route = listener.routes.first {
                ($0.handler.servesWebSocket || $0.handler.name == EventsHandler.plugin.name) && $0.routePath.matches(entry.handshake.path)
            }
            let filters = listener.filters + (route?.filters ?? [])
            // A token is checked again off the loop (its signature may take a while); one that the
            // new filter refuses closes its connection then.
            for jwt in filters.lazy.compactMap({ $0.middleware as? JWTFilter }) {
                let verifier = jwt.verifier
                guard let frames = entry.frames else {
                    // An event stream: its handshake's token, checked again.
                    let outbound = entry.outbound
                    let handshake = entry.handshake
                    Task {
                        guard let token = AuthFilter.credential(of: handshake, isUpgrade: true) else { return }
                        do throws(HTTPError) {
                            _ = try await verifier.identity(of: token, header: try verifier.header(of: token))
                        } catch {
                            outbound.eventLoop.execute {
                                outbound.value.close(
                                    code: .policyViolation, reason: "token no longer accepted", cause: .credentialsRevoked, afterQueued: false)
                            }
                        }
                    }
                    continue
                }
                frames.eventLoop.execute {
                    frames.value.recheck { token async throws(HTTPError) in
                        try await verifier.identity(of: token, header: try verifier.header(of: token))
                    }
                }
            }
            guard let reason = filters.lazy.compactMap({ ($0.middleware as? any ReadmissionCheck)?.refusal(ofOpened: entry.handshake) }).first
            else { continue }
            closed += 1
            let outbound = entry.outbound
            outbound.eventLoop.execute {
                outbound.value.close(code: .policyViolation, reason: reason, cause: .credentialsRevoked, afterQueued: false)
            }
        }
        return closed
    }
}

extension RoutePath {
    /// Whether a request for `path` is served by this route: the same segments (empty ones do
    /// not count), literals equal, parameters matching any one segment.
    func matches(_ path: Substring) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count == self.segments.count else { return false }
        return zip(parts, self.segments).allSatisfy { part, segment in
            if case .literal(let text) = segment { return part == text }
            return true
        }
    }
}
