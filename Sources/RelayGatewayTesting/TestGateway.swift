import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import RelayGateway

/// A real gateway, in this process, serving a YAML config on loopback for the duration of a test:
/// the one harness of the gateway's own tests, and what a plugin author tests plugins with.
///
/// ```swift
/// let plugins = try Plugins.builtIn.adding(MyPlugins.all)
/// try await TestGateway.with(yaml: config, plugins: plugins) { gateway in
///     let url = try await gateway.register(userID: 1)
///     #expect(try await gateway.publish(topic: "cats", message: "hi") == 0)
///     #expect(try await gateway.request(.get, "/health").status == 200)
/// }
/// ```
///
/// Listeners should use `port: 0`: each gets a free port (``ports``). Give a `ManualClock` to move
/// the gateway's time (token expiry, keepalive, TTLs, windows) instead of waiting for it.
public struct TestGateway: Sendable {
    public let gateway: Gateway
    /// The port each listener bound, by name.
    public let ports: [String: Int]
    private let client: HTTPClient

    /// The port of the first listener (the only one, in most tests).
    public var port: Int { self.ports.values.first! }

    /// `http://127.0.0.1:PORT/path` of `listener` (default: the first).
    public func url(_ path: String, listener: String? = nil) -> String {
        let port = listener.flatMap { self.ports[$0] } ?? self.port
        return "http://127.0.0.1:\(port)\(path)"
    }

    /// Serves `yaml` (read with `environment` for its `${VAR}`s) for the duration of `body`, then
    /// stops the gateway; the whole run fails with ``TestGatewayError/timedOut(_:)`` past `limit`.
    public static func with<T: Sendable>(
        yaml: String,
        environment: [String: String] = [:],
        plugins: Plugins = .builtIn,
        clock: any GatewayClock = SystemClock.system,
        logHandler: (@Sendable (String) -> any LogHandler)? = nil,
        limit: Duration = .seconds(60),
        _ body: @escaping @Sendable (TestGateway) async throws -> T
    ) async throws -> T {
        raiseOpenFileLimit()
        let config = try ConfigLoader.parse(yaml: yaml, file: "test.yaml", environment: environment)
        let logger = Logger(label: "relay-test", factory: logHandler ?? { _ in SwiftLogNoOpLogHandler() })
        let gateway = try Gateway(config: config, plugins: plugins, logger: logger, clock: clock)
        let expected = config.listeners.count
        let (ports, portsContinuation) = AsyncStream.makeStream(of: (String, Int).self)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await gateway.run(gracefulShutdownSignals: []) { listener, port in
                    portsContinuation.yield((listener.name, port))
                }
                portsContinuation.finish()
                return nil
            }
            group.addTask {
                try await Task.sleep(for: limit)
                throw TestGatewayError.timedOut("the test ran longer than \(limit)")
            }
            group.addTask {
                var bound: [String: Int] = [:]
                for await (name, port) in ports {
                    bound[name] = port
                    if bound.count == expected { break }
                }
                guard bound.count == expected else { throw TestGatewayError.didNotListen }
                let client = HTTPClient(eventLoopGroupProvider: .singleton)
                do {
                    let result = try await body(TestGateway(gateway: gateway, ports: bound, client: client))
                    try await client.shutdown()
                    return result
                } catch {
                    try? await client.shutdown()
                    throw error
                }
            }
            defer { group.cancelAll() }
            while let finished = try await group.next() {
                if let result = finished { return result }
            }
            throw TestGatewayError.didNotListen
        }
    }

    // MARK: Driving it

    /// Applies `yaml` as a reload would (SIGHUP, `relay-gateway reload`).
    public func reload(_ yaml: String, environment: [String: String] = [:]) async throws -> ReloadSummary {
        try await self.gateway.reloader.reload(to: try ConfigLoader.parse(yaml: yaml, file: "test.yaml", environment: environment))
    }

    /// Sends a request to `path` on `listener` and reads the whole answer.
    public func request(
        _ method: HTTPRequest.Method, _ path: String, listener: String? = nil, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) async throws -> TestResponse {
        var request = HTTPClientRequest(url: self.url(path, listener: listener))
        request.method = .init(rawValue: method.rawValue)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(body) }
        let response = try await self.client.execute(request, timeout: .seconds(10))
        let data = try await response.body.collect(upTo: 16 << 20)
        return TestResponse(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: String(buffer: data))
    }

    /// Registers `userID` (`POST /register`) and returns the subscribe URL it answers.
    public func register(userID: Int, listener: String? = nil, headers: [(String, String)] = []) async throws -> String {
        let answer = try await self.request(
            .post, "/register", listener: listener, headers: [("Content-Type", "application/json")] + headers,
            body: Array(#"{"user_id": \#(userID)}"#.utf8)
        )
        guard answer.status == 200, let url = answer.json?["url"] as? String else {
            throw TestGatewayError.refused("register", answer)
        }
        return url
    }

    /// Publishes (`POST /publish`) and returns how many subscribers it reached.
    public func publish(topic: String, message: String, userID: Int? = nil, headers: [(String, String)] = []) async throws -> Int {
        var fields: [String: Any] = ["topic": topic, "message": message]
        if let userID { fields["user_id"] = userID }
        let body = try JSONSerialization.data(withJSONObject: fields)
        let answer = try await self.request(.post, "/publish", headers: [("Content-Type", "application/json")] + headers, body: Array(body))
        guard answer.status == 200, let recipients = answer.json?["recipients"] as? Int else {
            throw TestGatewayError.refused("publish", answer)
        }
        return recipients
    }
}

/// An answer, read whole.
public struct TestResponse: Sendable, CustomStringConvertible {
    public let status: Int
    public let headers: [(String, String)]
    public let body: String

    /// The body as a JSON object, if it is one.
    public var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(self.body.utf8))) as? [String: Any]
    }

    /// `{"error": "..."}`'s message.
    public var error: String? { self.json?["error"] as? String }

    /// The first value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        self.headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public var description: String { "\(self.status) \(self.body)" }
}

public enum TestGatewayError: Error, CustomStringConvertible {
    case didNotListen
    case timedOut(String)
    case refused(String, TestResponse)

    public var description: String {
        switch self {
        case .didNotListen: "the gateway did not listen"
        case .timedOut(let what): "timed out: \(what)"
        case .refused(let what, let answer): "\(what) failed: \(answer)"
        }
    }
}

/// Tests run many servers and clients in one process; the usual soft limit of 1024 open files
/// would make `accept` fail under crowd tests, so it is lifted to the hard limit as `serve` does.
private func raiseOpenFileLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}
