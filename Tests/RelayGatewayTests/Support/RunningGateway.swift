import RelayGatewayTesting

/// The gateway's tests use the public harness (`RelayGatewayTesting`), as a plugin author would.
typealias RunningGateway = TestGateway

extension TestGateway {
    /// The default seed routes on one listener, with `relay` YAML prepended (relay, tokens, filters).
    static func seedYAML(listenerFilters: String = "[]", routeFilters: [String: String] = [:], relay: String = "") -> String {
        func filters(_ handler: String) -> String {
            routeFilters[handler].map { ", filters: \($0)" } ?? ""
        }
        return """
            \(relay)
            listeners:
              - name: public
                host: 127.0.0.1
                port: 0
                filters: \(listenerFilters)
                routes:
                  - {path: /health, method: GET, handler: health\(filters("health"))}
                  - {path: /register, method: POST, handler: register\(filters("register"))}
                  - {path: "/register/{client_id}", method: DELETE, handler: unregister\(filters("unregister"))}
                  - {path: /publish, method: POST, handler: publish\(filters("publish"))}
                  - {path: "/ws/{client_id}", handler: subscribe\(filters("subscribe"))}
                  - {path: "/events/{client_id}", handler: events\(filters("events"))}
            """
    }
}
