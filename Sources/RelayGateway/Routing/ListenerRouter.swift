import RelayConfig
import RelayHTTP

extension RouteTable.Listener {
    /// The engine's router of this listener: the listener's filters and the drain guard in front
    /// of every answer (404 and 405 included), then per route its own filters and handler.
    func makeRouter(environment shared: HandlerEnvironment, connectionSlots: ConnectionSlots?) -> Router {
        var environment = shared
        environment.listenerName = self.config.name
        environment.connectionSlots = connectionSlots
        let routes = self.routes.map { route in
            Route(
                method: route.method,
                segments: route.routePath.segments.map { segment in
                    switch segment {
                    case .literal(let text): .literal(text)
                    case .parameter(let name): .parameter(name)
                    }
                },
                responder: HandlerResponder(route.handler.make(environment)).behind(route.filters.map(\.middleware)),
                acceptsWebSocket: route.handler.servesWebSocket,
                attributes: route.handler.servesEventStream ? Self.eventStreamRoute : RequestAttributes()
            )
        }
        return Router(routes: routes, listenerFilters: self.filters.map(\.middleware) + [DrainingGuard(state: environment.drain)])
    }

    private static let eventStreamRoute: RequestAttributes = {
        var attributes = RequestAttributes()
        attributes[EventStreamRoute.self] = true
        return attributes
    }()
}

/// Set on the requests of a route that opens an event stream (the `events` handler's).
enum EventStreamRoute: RequestAttributeKey {
    typealias Value = Bool
}

extension RequestContext {
    /// Whether the request's credential may come in its URL (`?token=`): a WebSocket handshake,
    /// or a request for an event stream. A browser cannot add headers to either (`WebSocket`,
    /// `EventSource`).
    public var takesCredentialInURL: Bool {
        self.isWebSocketHandshake || self.attributes[EventStreamRoute.self] == true
    }
}
