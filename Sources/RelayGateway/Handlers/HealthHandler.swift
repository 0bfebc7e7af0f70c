/// `GET /health`: `{"status": "ok", "connections": N, "registrations": N}`.
enum HealthHandler {
    struct Answer: Encodable {
        let status = "ok"
        let connections: Int
        let registrations: Int
    }

    static let plugin = HandlerPlugin(name: "health", defaultMethod: .get) { environment in
        { _, _ in
            let counts = environment.relay.counts
            return .now(JSONResponse.make(.ok, Answer(connections: counts.connections, registrations: counts.registrations)))
        }
    }
}
