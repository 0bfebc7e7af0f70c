import Foundation
import HTTPTypes
import NIOCore
import RelayHTTP

/// Small JSON bodies for the relay's answers.
enum JSONResponse {
    /// Sorted keys, slashes as they are: the encoding of every JSON answer and notice.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func make(_ status: HTTPResponse.Status = .ok, _ value: some Encodable, headers: HTTPFields = [:]) -> Response {
        let data = (try? self.encoder.encode(value)) ?? Data("{}".utf8)
        return Response.json(status, ByteBuffer(bytes: data), headers: headers)
    }

    /// `{"error": "..."}` as a text, for WebSocket error frames.
    static func errorText(_ message: String) -> String {
        HTTPError.json(error: message)
    }
}

extension HTTPError {
    /// 503 for a cluster backend that could not be reached; nothing was done.
    public static func clusterUnavailable(_ error: any Error) -> HTTPError {
        HTTPError(.serviceUnavailable, "cluster unavailable: \(error); retry later", headers: [.retryAfter: "1"])
    }
}
