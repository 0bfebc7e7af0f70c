import Foundation
import Logging
import RelayConfig
import RelayGateway
import Synchronization

/// A real gateway serving a YAML config on loopback (use `port: 0`), for the duration of `body`.
struct RunningGateway: Sendable {
    let gateway: Gateway
    /// Bound port per listener name.
    let ports: [String: Int]

    var port: Int { self.ports.values.first! }

    func url(_ path: String, listener: String? = nil) -> String {
        let port = listener.map { self.ports[$0]! } ?? self.port
        return "http://127.0.0.1:\(port)\(path)"
    }

    /// The default seed routes on one listener, with `extra` YAML prepended (relay, tokens, filters).
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

    /// Serves `yaml` for the duration of `body`; the whole run fails past `limit` (give tests
    /// that do much work a limit that grows with it). Give a ``ManualClock`` to move the
    /// gateway's time (token expiry, keepalive, TTLs and windows) instead of waiting for it.
    static func with<T: Sendable>(
        yaml: String,
        environment: [String: String] = [:],
        plugins: Plugins = .builtIn,
        clock: any GatewayClock = SystemClock.system,
        logHandler: (@Sendable (String) -> any LogHandler)? = nil,
        limit: Duration = .seconds(60),
        _ body: @escaping @Sendable (RunningGateway) async throws -> T
    ) async throws -> T {
        raiseOpenFileLimit()
        let config = try ConfigLoader.parse(yaml: yaml, file: "test.yaml", environment: environment)
        let logger =
            logHandler.map { Logger(label: "relay-test", factory: $0) } ?? Logger(label: "relay-test", factory: { _ in SwiftLogNoOpLogHandler() })
        let gateway = try Gateway(config: config, plugins: plugins, logger: logger, clock: clock)
        let expected = config.listeners.count
        let (ports, portsContinuation) = AsyncStream.makeStream(of: (String, Int).self)
        return try await withTimeout(limit, "gateway test") {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await gateway.run(gracefulShutdownSignals: []) { listener, port in
                        portsContinuation.yield((listener.name, port))
                    }
                }
                var bound: [String: Int] = [:]
                for await (name, port) in ports {
                    bound[name] = port
                    if bound.count == expected { break }
                }
                let result = try await body(RunningGateway(gateway: gateway, ports: bound))
                group.cancelAll()
                return result
            }
        }
    }
}

/// The tests run many servers and clients in one process; the usual soft limit of 1024 open files
/// would make `accept` fail under the crowd tests, so lift it to the hard limit like `serve` does.
private func raiseOpenFileLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}
