import Foundation
import Hummingbird

/// Reads a bounded JSON request body into a `Decodable`, with errors a client can act on.
enum JSONBody {
    /// - Parameter fast: reads the body from a `FlatJSONObject` when it is one (nil: not sure,
    ///   ask `JSONDecoder`), which skips `JSONDecoder` on a hot path.
    static func decode<T: Decodable>(
        _ type: T.Type, from request: Request, limit: Int, fast: ((FlatJSONObject) -> T?)? = nil
    ) async throws -> T {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw RelayHTTPError(.contentTooLarge, "request body too large: \(declared) bytes (at most \(limit))")
        }
        let buffer = try await request.body.collect(upTo: limit)
        guard buffer.readableBytes > 0 else {
            throw RelayHTTPError(.badRequest, "request body must be a JSON object")
        }
        if let fast, let object = FlatJSONObject(buffer.readableBytesView), let value = fast(object) {
            return value
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw RelayHTTPError(.badRequest, Self.describe(error))
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _):
            return "missing \"\(key.stringValue)\""
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            guard let key = context.codingPath.last?.stringValue else {
                return "request body must be a JSON object"
            }
            return "\"\(key)\" must be \(Self.describe(type))"
        case .dataCorrupted(let context):
            if let key = context.codingPath.last?.stringValue {
                return "\"\(key)\" must be \(context.debugDescription.contains("Number") ? "an integer that fits in 64 bits" : "valid")"
            }
            return "malformed JSON"
        @unknown default:
            return "malformed JSON"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int?.Type: "an integer"
        case is String.Type, is String?.Type: "a string"
        case is [String].Type: "a list of strings"
        default: "of another type"
        }
    }
}
