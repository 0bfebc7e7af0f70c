import NIOCore
import RelayConfig
import RelayHTTP
import Synchronization

/// Every open subscriber connection of the gateway, WebSocket and event stream alike: a reload
/// ends those of a listener it removes, and has the filters of the new config check the others
/// again (``SubscriberRecheck``).
final class OpenSubscribers: Sendable {
    private let connections = Mutex<[ObjectIdentifier: SubscriberConnection]>([:])

    func opened(_ connection: SubscriberConnection) {
        self.connections.withLock { $0[ObjectIdentifier(connection)] = connection }
    }

    func closed(_ connection: SubscriberConnection) {
        _ = self.connections.withLock { $0.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    /// Ends every connection of the listener `name` after what is already queued to it; returns how many.
    func endAll(on name: String, _ end: SubscriberEnd) -> Int {
        let open = self.connections.withLock { $0.values.filter { $0.listener == name } }
        for connection in open {
            connection.eventLoop.execute { connection.end(end, afterQueued: true) }
        }
        return open.count
    }

    /// Has the filters of `routeTable` that check subscribers again (its listener's, then its
    /// route's) judge each open connection, and ends those refused; returns how many.
    func recheck(by routeTable: RouteTable) async -> Int {
        let open = self.connections.withLock { Array($0.values) }
        var byLoop: [ObjectIdentifier: (loop: any EventLoop, checks: [(SubscriberConnection, [any SubscriberRecheck])])] = [:]
        for connection in open {
            let checks = routeTable.subscriberChecks(listener: connection.listener, path: connection.handshake.path)
            guard !checks.isEmpty else { continue }
            byLoop[ObjectIdentifier(connection.eventLoop), default: (connection.eventLoop, [])].checks.append((connection, checks))
        }
        var refused = 0
        for (loop, checks) in byLoop.values {
            // One hop per event loop to read what each connection holds now, one to apply the verdicts.
            let connections = checks.map(\.0)
            guard let subscribers = try? await loop.submit({ connections.map { $0.openSubscriber() } }).get() else { continue }
            var verdicts: [(SubscriberConnection, Readmission, String?)] = []
            for ((connection, filters), subscriber) in zip(checks, subscribers) {
                guard var subscriber else { continue }
                var verdict = Readmission.keep
                judging: for filter in filters {
                    switch await filter.recheck(subscriber) {
                    case .keep:
                        continue
                    case .update(let identity):
                        verdict = .update(identity)
                        subscriber = OpenSubscriber(
                            handshake: subscriber.handshake, credential: subscriber.credential, identity: identity, listener: subscriber.listener
                        )
                    case .refuse(let reason):
                        verdict = .refuse(reason)
                        break judging
                    }
                }
                if case .refuse = verdict { refused += 1 }
                verdicts.append((connection, verdict, subscriber.credential))
            }
            loop.execute {
                for (connection, verdict, credential) in verdicts {
                    connection.readmitted(verdict, checkedWith: credential)
                }
            }
        }
        return refused
    }
}

extension RouteTable {
    /// The filters that check again a subscriber of listener `listener` opened at `path`: the
    /// listener's, then those of the subscriber route serving the path.
    func subscriberChecks(listener name: String, path: Substring) -> [any SubscriberRecheck] {
        guard let listener = self.listeners.first(where: { $0.config.name == name }) else { return [] }
        let route = listener.routes.first { $0.handler.servesSubscribers && $0.routePath.matches(path) }
        return (listener.filters + (route?.filters ?? [])).compactMap { $0.middleware as? any SubscriberRecheck }
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
