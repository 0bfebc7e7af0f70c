import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One HTTP answer, body as text and (if it is JSON) parsed.
struct HTTPAnswer: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let body: String

    var json: [String: any Sendable]? {
        (try? JSONSerialization.jsonObject(with: Data(self.body.utf8))) as? [String: any Sendable]
    }

    var error: String? { self.json?["error"] as? String }
}

enum HTTP {
    static func request(
        _ method: HTTPMethod,
        _ url: String,
        body: String? = nil,
        headers: [(String, String)] = [],
        client: HTTPClient = .shared
    ) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers {
            request.headers.add(name: name, value: value)
        }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: .seconds(10))
        let buffer = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return HTTPAnswer(status: Int(response.status.code), headers: response.headers, body: String(buffer: buffer))
    }

    static func get(_ url: String, headers: [(String, String)] = []) async throws -> HTTPAnswer {
        try await self.request(.GET, url, headers: headers)
    }

    static func post(_ url: String, _ body: String, headers: [(String, String)] = []) async throws -> HTTPAnswer {
        try await self.request(.POST, url, body: body, headers: headers)
    }

    static func delete(_ url: String) async throws -> HTTPAnswer {
        try await self.request(.DELETE, url)
    }

    /// A WebSocket handshake sent as a plain request, to read a refusal's status, headers and body.
    /// It goes on a new connection (a handshake must be a connection's first request), so it uses
    /// a client of its own instead of the shared pool.
    static func upgradeAttempt(_ url: String, headers: [(String, String)] = []) async throws -> HTTPAnswer {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let answer = try await self.request(
                .GET,
                url,
                headers: [
                    ("Connection", "Upgrade"), ("Upgrade", "websocket"),
                    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
                ] + headers,
                client: client
            )
            try await client.shutdown()
            return answer
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}
