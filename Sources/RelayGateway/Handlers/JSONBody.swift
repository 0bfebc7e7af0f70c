import Foundation
import RelayHTTP

/// Reads a JSON request body (already read whole by the engine, within `max_message_bytes`)
/// into a `Decodable`, with errors a client can act on.
enum JSONBody {
    /// - Parameter fast: reads the body from a `FlatJSONObject` when it is one (nil: not sure,
    ///   ask `JSONDecoder`), which skips `JSONDecoder` on a hot path.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, fast: ((FlatJSONObject) -> T?)? = nil) throws -> T {
        let buffer = request.body
        guard buffer.readableBytes > 0 else {
            throw HTTPError(.badRequest, "request body must be a JSON object")
        }
        if let fast, let object = FlatJSONObject(buffer.readableBytesView), let value = fast(object) {
            return value
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw HTTPError(.badRequest, Self.describe(error))
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
