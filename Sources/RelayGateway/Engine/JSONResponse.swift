import Foundation
import Hummingbird

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
        return self.make(status, rawJSON: ByteBuffer(bytes: data), headers: headers)
    }

    static func make(_ status: HTTPResponse.Status, rawJSON body: ByteBuffer, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        headers[.contentLength] = String(body.readableBytes)
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }

    /// `{"error": "..."}` as a text, for WebSocket error frames.
    static func errorText(_ message: String) -> String {
        let data = (try? self.encoder.encode(["error": message])) ?? Data(#"{"error":"internal error"}"#.utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
