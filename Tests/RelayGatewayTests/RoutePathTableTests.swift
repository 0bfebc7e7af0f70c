import Foundation
import Logging
import RelayConfig
import Testing

@testable import RelayGateway

/// Routes that are one path to the router are one route to the config: a second is an error
/// naming both lines, in `check` and `serve` alike, and the table builds in O(n log n).
@Suite struct RoutePathTableTests {
    private func table(_ routes: [String]) throws(ConfigError) -> RouteTable {
        let yaml = "listeners:\n  - port: 0\n    routes:\n" + routes.map { "      - \($0)\n" }.joined()
        let config = try ConfigLoader.parse(yaml: yaml, file: "gw.yaml", environment: [:])
        return try RouteTable(config: config, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    @Test(arguments: [
        (
            ["{path: /health, handler: health}", "{path: /health/, handler: health}"],
            "gw.yaml:5: listeners[0].routes[1]: duplicate route GET /health/, the same path as /health (also listeners[0].routes[0], line 4)"
        ),
        (
            ["{path: /health, handler: health}", "{path: //health, handler: metrics}"],
            "gw.yaml:5: listeners[0].routes[1]: duplicate route GET //health, the same path as /health (also listeners[0].routes[0], line 4)"
        ),
        (
            ["{path: \"/ws/{client_id}\", handler: subscribe}", "{path: \"/ws/{id}\", handler: health}"],
            "gw.yaml:5: listeners[0].routes[1]: duplicate route GET /ws/{id}, the same path as /ws/{client_id} (also listeners[0].routes[0], line 4)"
        ),
        (
            ["{path: /x, handler: publish}", "{path: /x, method: POST, handler: health}"],
            "gw.yaml:5: listeners[0].routes[1]: duplicate route POST /x (also listeners[0].routes[0], line 4)"
        ),
        (
            ["{path: \"/a/{x}\", method: GET, handler: health}", "{path: \"/a/{y}\", method: POST, handler: publish}"],
            "gw.yaml:5: listeners[0].routes[1]: /a/{y} is the same path as /a/{x} (listeners[0].routes[0], line 4) with its parameters "
                + "named differently; name them alike"
        ),
    ])
    func routesTheRouterCannotTellApartAreRefused(routes: [String], expected: String) {
        #expect(throws: ConfigError.self) { try self.table(routes) }
        do {
            _ = try self.table(routes)
        } catch {
            #expect(error.description == expected)
        }
    }

    @Test func oneNormalisedPathMayServeSeveralMethods() throws {
        let table = try self.table(["{path: /publish, method: POST, handler: publish}", "{path: /publish/, method: GET, handler: health}"])
        #expect(table.listeners[0].routes.map { "\($0.method.rawValue) \($0.path)" } == ["POST /publish", "GET /publish"])
    }

    @Test(.heavy) func aHundredThousandRoutesBuildInSeconds() throws {
        let routes = (0..<100_000).map { "{path: \"/r\($0)/{id}\", handler: health}" }
        let start = ContinuousClock.now
        let table = try self.table(routes)
        let took = ContinuousClock.now - start
        #expect(table.listeners[0].routes.count == 100_000)
        // Quadratic, this was minutes (40,000 routes took 18 s); debug builds are slow, hence the margin.
        #expect(took < .seconds(60), "took \(took)")
        print("RoutePathTableTests: 100,000 routes parsed and resolved in \(took)")
    }

    /// What `check` accepts, `serve` serves: the router never meets two routes it cannot tell
    /// apart (Hummingbird's "already has a handler" precondition killed `serve` here before).
    @Test func serveServesEveryPathCheckAccepts() async throws {
        let yaml = """
            listeners:
              - port: 0
                routes:
                  - {path: /publish, method: POST, handler: publish}
                  - {path: /publish/, method: GET, handler: health}
                  - {path: //health//, handler: health}
                  - {path: /register, handler: register}
                  - {path: "/ws/{client_id}/", handler: subscribe}
            """
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("relay-\(UUID().uuidString).yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let check = try await Program.run(Program.gateway, ["check", "--config", file.path])
        #expect(check.status == 0, "\(check.stderr)")
        let server = try Running(Program.gateway, ["serve", "--config", file.path])
        defer { server.signal(SIGTERM) }
        let port = try await server.awaitListening()
        let base = "http://127.0.0.1:\(port)"
        #expect(try await HTTP.get(base + "/health").status == 200)
        #expect(try await HTTP.get(base + "/health/").status == 200)
        #expect(try await HTTP.get(base + "/publish").status == 200)
        #expect(try await HTTP.post(base + "/publish", #"{"topic": "cats", "message": "x"}"#).status == 200)
        #expect(try await HTTP.delete(base + "/publish").status == 405)
        #expect(server.process.isRunning)
    }
}
