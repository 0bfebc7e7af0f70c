import NIOCore
import RelayHTTP

/// `GET /health`: `{"connections":N,"registrations":N,"status":"ok"}`.
enum HealthHandler {
    static let plugin = HandlerPlugin(name: "health", defaultMethod: .get) { environment in
        { _, _ in
            let counts = environment.relay.counts
            // Written by hand: a probe's answer, asked for every few seconds, too simple for a JSONEncoder.
            return .now(
                Response.json(
                    .ok, ByteBuffer(string: #"{"connections":\#(counts.connections),"registrations":\#(counts.registrations),"status":"ok"}"#))
            )
        }
    }
}
