import Logging
import RelayConfig
import Testing

@testable import RelayGateway

/// Turning a config into a route table: names resolved, plugin options validated, errors located.
@Suite struct RouteTableTests {
    private func table(_ yaml: String, environment: [String: String] = [:]) throws -> RouteTable {
        let config = try ConfigLoader.parse(yaml: yaml, file: "gw.yaml", environment: environment)
        return try RouteTable(config: config, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    private func error(_ yaml: String) -> String {
        do {
            _ = try self.table(yaml)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    static let routes = """
        listeners:
          - port: 0
            routes:
              - {path: /h, handler: health}
        """

    @Test func defaultConfigResolvesTheSeedRoutes() throws {
        let config = try ConfigLoader.load(file: Program.packageRoot.appendingPathComponent("config/relay.yaml").path, environment: [:])
        let table = try RouteTable(config: config, logger: Logger(label: "test"))
        let routes = table.listeners[0].routes.map { "\($0.method.rawValue) \($0.path) \($0.handler.name)" }
        #expect(
            routes == [
                "GET /health health", "POST /register register", "DELETE /register/{client_id} unregister",
                "POST /publish publish", "GET /ws/{client_id} subscribe", "GET /events/{client_id} events",
            ]
        )
        #expect(table.listeners[0].filters.map(\.name) == ["access_log", "cors"])
        #expect(table.subscribeRoute?.route.path == "/ws/{client_id}")
    }

    @Test(arguments: [
        (
            "filters:\n  cors: {type: cors, allow_origin: [x]}\n",
            #"gw.yaml:2: filters.cors: unknown key "allow_origin""#
        ),
        (
            "filters:\n  r:\n    type: rate_limit\n    rate: 20/s\n    burst: many\n",
            "gw.yaml:5: filters.r.burst: "
        ),
        (
            "filters:\n  r:\n    type: rate_limit\n    rate: 20 per second\n",
            "gw.yaml:4: filters.r.rate: rate must look like 20/s, 600/m or 10/h"
        ),
        (
            "filters:\n  r:\n    type: rate_limit\n    rate: 2/s\n    key: cookie\n",
            "gw.yaml:5: filters.r.key: key must be ip, token or header:NAME"
        ),
        (
            "tokens: {publisher: abc}\nfilters:\n  a:\n    type: auth\n    tokens: [publisher, admin]\n",
            #"gw.yaml:5: filters.a.tokens[1]: unknown token "admin" (declared in tokens: publisher)"#
        ),
        (
            "filters:\n  a: {type: auth}\n",
            #"filters.a: missing required key "tokens""#
        ),
        (
            "filters:\n  l: {type: log, format: xml}\n",
            "gw.yaml:2: filters.l.format: format must be one of: text, json"
        ),
        (
            "filters:\n  c: {type: cors, allow_credentials: true}\n",
            "filters.c.allow_credentials: allow_credentials cannot be combined with allow_origins \"*\""
        ),
    ])
    func pluginOptionErrorsNameTheFilterKeyAndLine(filters: String, expected: String) {
        let message = self.error(filters + Self.routes)
        #expect(message.contains(expected), "\(message)")
    }

    @Test(arguments: [
        ("{path: /ws, handler: subscribe}", #"handler "subscribe" needs {client_id} in its path"#),
        ("{path: \"/ws/{client_id}\", method: POST, handler: subscribe}", "serves WebSocket upgrades, which use GET, not POST"),
        ("{path: /x, handler: publish}\n      - {path: /x, method: POST, handler: health}", "duplicate route POST /x"),
    ])
    func routeErrors(route: String, expected: String) {
        let message = self.error("listeners:\n  - port: 0\n    routes:\n      - \(route)\n")
        #expect(message.contains(expected), "\(message)")
    }

    @Test func aTokenSecretNeverAppearsInTheTableOrItsErrors() throws {
        let secret = "hunter2-secret"
        let yaml = "tokens: {publisher: \(secret)}\nfilters:\n  a: {type: auth, tokens: [publisher, nobody]}\n" + Self.routes
        let message = self.error(yaml)
        #expect(message.contains("unknown token \"nobody\""))
        #expect(!message.contains(secret))
        let table = try self.table("tokens: {publisher: \(secret)}\nfilters:\n  a: {type: auth, tokens: [publisher]}\n" + Self.routes)
        #expect(!"\(table)".contains(secret))
    }
}

/// Listener filters run before route filters, each list in order.
@Suite struct FilterChainTests {
    @Test func listenerFiltersWrapRouteFiltersInOrder() async throws {
        let yaml = """
            tokens: {publisher: "${PUB}"}
            filters:
              cors: {type: cors}
              limit: {type: rate_limit, rate: 1/m, burst: 2, key: ip}
              backends: {type: auth, tokens: [publisher]}
            \(RunningGateway.seedYAML(listenerFilters: "[cors]", routeFilters: ["publish": "[limit, backends]"]))
            """
        try await RunningGateway.with(yaml: yaml, environment: ["PUB": "p"]) { gateway in
            let body = #"{"topic": "cats", "message": "x"}"#
            // The listener's cors decorates the route filters' refusals; limit runs before auth,
            // so unauthenticated attempts use up the bucket too.
            let first = try await HTTP.post(gateway.url("/publish"), body, headers: [("Origin", "https://a.example")])
            #expect(first.status == 401)
            #expect(first.headers["Access-Control-Allow-Origin"].first == "*")
            let second = try await HTTP.post(gateway.url("/publish"), body, headers: [("Authorization", "Bearer p")])
            #expect(second.status == 200)
            #expect(second.headers["RateLimit"].first == #""limit";r=0;t=120"#)
            let third = try await HTTP.post(gateway.url("/publish"), body, headers: [("Authorization", "Bearer p"), ("Origin", "https://a.example")])
            #expect(third.status == 429)
            #expect(third.headers["Access-Control-Allow-Origin"].first == "*")
            // Other routes are not limited.
            #expect(try await HTTP.get(gateway.url("/health")).status == 200)
        }
    }
}
