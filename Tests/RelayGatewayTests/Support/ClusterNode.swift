import Foundation

/// One gateway process of a test cluster: `relay-gateway serve` on a free port, with a config
/// pointing at the test's database.
final class ClusterNode: Sendable {
    let name: String
    let port: Int
    let process: Running

    private init(name: String, port: Int, process: Running) {
        self.name = name
        self.port = port
        self.process = process
    }

    static func config(database: String, node: String, history: Bool) -> String {
        """
        relay:
          registration_ttl: 10m
          ping_interval: 0
        \(history ? "  history: {size: 1000, ttl: 5m}" : "")
        cluster:
          url: \(database)
          node_id: \(node)
          poll_interval: 100ms
          timeout: 5s
        listeners:
          - name: public
            host: 127.0.0.1
            port: 0
            routes:
              - {path: /health, method: GET, handler: health}
              - {path: /register, method: POST, handler: register}
              - {path: "/register/{client_id}", method: DELETE, handler: unregister}
              - {path: /publish, method: POST, handler: publish}
              - {path: "/ws/{client_id}", handler: subscribe}
        """
    }

    static func start(_ name: String, database: String, history: Bool = false) async throws -> ClusterNode {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("relay-cluster-\(name)-\(UUID().uuidString).yaml")
        try Self.config(database: database, node: name, history: history).write(to: file, atomically: true, encoding: .utf8)
        return try await Self.start(name, config: file.path)
    }

    /// Starts `relay-gateway serve --config config` with `environment` (its port must be 0 or free).
    static func start(_ name: String, config: String, environment: [String: String] = [:]) async throws -> ClusterNode {
        let process = try Running(Program.gateway, ["serve", "--config", config], environment: environment)
        let port = try await process.awaitListening(within: .seconds(30))
        return ClusterNode(name: name, port: port, process: process)
    }

    var base: String { "http://127.0.0.1:\(self.port)" }

    func subscribeURL(_ id: String, query: String = "") -> String {
        "ws://127.0.0.1:\(self.port)/ws/\(id)\(query)"
    }

    /// Registers `userID` here and returns the client id.
    func register(userID: Int) async throws -> String {
        let answer = try await HTTP.post(self.base + "/register", #"{"user_id": \#(userID)}"#)
        guard answer.status == 200, let url = answer.json?["url"] as? String, let id = url.split(separator: "/").last else {
            throw TimedOut(what: "register on \(self.name): \(answer.status) \(answer.body)")
        }
        return String(id)
    }

    func publish(topic: String, message: String, userID: Int? = nil) async throws -> HTTPAnswer {
        let user = userID.map { #", "user_id": \#($0)"# } ?? ""
        return try await HTTP.post(self.base + "/publish", #"{"topic": "\#(topic)", "message": "\#(message)"\#(user)}"#)
    }

    /// Stops the process with SIGTERM and waits for it to exit.
    func stop() async throws {
        self.process.signal(SIGTERM)
        _ = try await self.process.finish(within: .seconds(20))
    }
}
