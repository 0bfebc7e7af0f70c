import RelayHTTP

/// `GET /metrics` (not in the default table): the gateway's counters in Prometheus text format.
enum MetricsHandler {
    static let plugin = HandlerPlugin(name: "metrics", defaultMethod: .get) { environment in
        { _, _ in
            let counts = environment.relay.counts
            let body = environment.metrics.render(connections: counts.connections, registrations: counts.registrations)
            return .now(Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: body))
        }
    }
}
