import AsyncHTTPClient
import Foundation
import Logging
import RelayGateway
import WebhookPlugins

/// A gateway with this package's plugins, serving a config on a free port, and an HTTP client
/// for it. `withLiveGateway` stops both however the test ends.
struct LiveGateway {
    let port: Int
    let client: HTTPClient
    let gateway: Gateway

    /// Applies `yaml` as a reload would (SIGHUP, `relay-gateway reload`).
    func reload(_ yaml: String) async throws -> ReloadSummary {
        try await self.gateway.reloader.reload(to: try ConfigLoader.parse(yaml: yaml, file: "webhooks-test.yaml", environment: [:]))
    }

    /// Registers user `userID` and returns the URL of its WebSocket.
    func register(userID: Int) async throws -> String {
        let registered = try await self.send(.post, "/register", body: Array(#"{"user_id": \#(userID)}"#.utf8))
        guard registered.status == 200, let url = try JSONDecoder().decode([String: String].self, from: Data(registered.body.utf8))["url"] else {
            throw Unregistered(answer: registered)
        }
        return url
    }

    struct Unregistered: Error {
        let answer: Answer
    }

    /// An answer: status and body.
    struct Answer: Equatable, CustomStringConvertible {
        let status: UInt
        let body: String
        var description: String { "\(self.status) \(self.body)" }
    }

    /// Sends a request and reads its whole answer.
    func send(
        _ method: HTTPRequest.Method, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(self.port)\(path)")
        request.method = .init(rawValue: method.rawValue)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(body) }
        let response = try await self.client.execute(request, timeout: .seconds(5))
        let data = try await response.body.collect(upTo: 1 << 20)
        return Answer(status: response.status.code, body: String(buffer: data))
    }

    /// POSTs `body` to `/hooks/{topic}` signed with `secret` at `timestamp` (default: now), as a
    /// publisher would: `X-Timestamp` and `X-Signature: sha256=<hex>`.
    func postSigned(
        topic: String, body: [UInt8], secret: String, timestamp: Int64 = UnixTime.now
    ) async throws -> Answer {
        let signature = ReferenceSigner.signature(secret: secret, timestamp: String(timestamp), body: body)
        return try await self.send(
            .post, "/hooks/\(topic)", headers: [("X-Timestamp", String(timestamp)), ("X-Signature", signature)], body: body
        )
    }

    /// The `/metrics` text.
    func metrics() async throws -> String {
        try await self.send(.get, "/metrics").body
    }
}

/// Starts a gateway for `yaml` (named `file` in errors) with the built-in plugins and this
/// package's, runs `body` with it, then stops it: the HTTP client is shut down and the task
/// running the gateway cancelled and awaited.
func withLiveGateway<Result>(
    _ yaml: String, file: String = "webhooks-test.yaml", _ body: (LiveGateway) async throws -> Result
) async throws -> Result {
    let plugins = try Plugins.builtIn.adding(WebhookPlugins.all)
    let gateway = try Gateway(
        config: try ConfigLoader.parse(yaml: yaml, file: file, environment: [:]), plugins: plugins, logger: quietLogger
    )
    let (ports, bound) = AsyncStream.makeStream(of: Int.self)
    let serving = Task {
        // A gateway that ends (or never starts) ends the stream, so the wait below cannot hang.
        defer { bound.finish() }
        try await gateway.run(gracefulShutdownSignals: [], onListening: { _, port in bound.yield(port) })
    }
    var iterator = ports.makeAsyncIterator()
    guard let port = await iterator.next() else {
        try await serving.value
        throw GatewayDidNotListen()
    }
    let live = LiveGateway(port: port, client: HTTPClient(eventLoopGroupProvider: .singleton), gateway: gateway)
    do {
        let result = try await body(live)
        try await stop(live, serving)
        return result
    } catch {
        try? await stop(live, serving)
        throw error
    }
}

private func stop(_ live: LiveGateway, _ serving: Task<Void, any Error>) async throws {
    try await live.client.shutdown()
    serving.cancel()
    _ = await serving.result
}

struct GatewayDidNotListen: Error {}

let quietLogger = Logger(label: "webhook-plugins-test", factory: { _ in SwiftLogNoOpLogHandler() })
