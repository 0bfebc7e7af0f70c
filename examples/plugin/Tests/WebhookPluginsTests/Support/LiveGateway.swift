import RelayGateway
import RelayGatewayTesting
import WebhookPlugins

/// This package's tests drive a real gateway with the gateway's own harness (`RelayGatewayTesting`),
/// with the built-in plugins and this package's, plus a few helpers of their own.
typealias LiveGateway = TestGateway

extension TestGateway {
    /// An answer: status and body, comparable in one `#expect`.
    struct Answer: Equatable, CustomStringConvertible {
        let status: UInt
        let body: String
        var description: String { "\(self.status) \(self.body)" }
    }

    /// Sends a request and reads its whole answer.
    func send(_ method: HTTPRequest.Method, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil) async throws -> Answer {
        let answer = try await self.request(method, path, headers: headers, body: body)
        return Answer(status: UInt(answer.status), body: answer.body)
    }

    /// POSTs `body` to `/hooks/{topic}` signed with `secret` at `timestamp` (default: now), as a
    /// publisher would: `X-Timestamp` and `X-Signature: sha256=<hex>`.
    func postSigned(topic: String, body: [UInt8], secret: String, timestamp: Int64 = UnixTime.now) async throws -> Answer {
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

/// Serves `yaml` with the built-in plugins and this package's for the duration of `body`.
func withLiveGateway<Result: Sendable>(_ yaml: String, _ body: @escaping @Sendable (LiveGateway) async throws -> Result) async throws -> Result {
    try await TestGateway.with(yaml: yaml, plugins: try Plugins.builtIn.adding(WebhookPlugins.all), body)
}

let quietLogger = Logger(label: "webhook-plugins-test", factory: { _ in SwiftLogNoOpLogHandler() })
