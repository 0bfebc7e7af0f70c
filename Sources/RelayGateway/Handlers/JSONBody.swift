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
        case .keyNotFound(let key, let context):
            return "missing \"\(Self.path(context.codingPath + [key]))\""
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            guard !context.codingPath.isEmpty else {
                return "request body must be a JSON object"
            }
            return "\"\(Self.path(context.codingPath))\" must be \(Self.describe(type))"
        case .dataCorrupted(let context):
            if !context.codingPath.isEmpty {
                let what = context.debugDescription.contains("Number") ? "an integer that fits in 64 bits" : "valid"
                return "\"\(Self.path(context.codingPath))\" must be \(what)"
            }
            return "malformed JSON"
        @unknown default:
            return "malformed JSON"
        }
    }

    /// Where a value is in the body: `topic`, `messages[3].user_id`.
    private static func path(_ keys: [any CodingKey]) -> String {
        keys.enumerated().reduce(into: "") { path, step in
            if let index = step.element.intValue {
                path += "[\(index)]"
            } else {
                path += (step.offset == 0 ? "" : ".") + step.element.stringValue
            }
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int?.Type: "an integer"
        case is String.Type, is String?.Type: "a string"
        case is [String].Type, is [String]?.Type: "a list of strings"
        case _ where String(describing: type).hasPrefix("Array"): "a list"
        case _ where String(describing: type).hasPrefix("Dictionary"): "an object"
        default: "of another type"
        }
    }
}
