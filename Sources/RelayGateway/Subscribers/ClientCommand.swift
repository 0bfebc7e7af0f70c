import Foundation
import RelayCore

/// What a subscriber may say in a text frame.
///
/// - `ping` (surrounding whitespace ignored, so websocat's `ping\n` counts) is answered with `pong`;
/// - a JSON object with any of:
///   - `"topics": ["a", "b"]` replaces the client's topics;
///   - `"envelope": true` switches the client to envelope frames;
///   - `"resume": {"a": {"epoch": "9f2c41d0", "offset": 42}}` replays what the client missed of
///     each topic since that position (and turns envelope mode on);
/// - `{"token": "<JWT>"}` alone: renewed credentials for a connection opened with a token.
enum ClientCommand: Equatable {
    case ping
    case update(Update)
    case renew(token: String)

    struct Update: Equatable {
        var topics: [String]?
        var envelope: Bool?
        /// Sorted by topic.
        var resume: [Resume] = []
    }

    struct Resume: Equatable {
        let topic: String
        let position: StreamPosition
    }

    struct Invalid: Error, Equatable {
        let message: String
    }

    private struct Request: Decodable {
        let topics: [String]?
        let envelope: Bool?
        let resume: [String: Position]?
        let token: String?

        struct Position: Decodable {
            let epoch: String
            let offset: UInt64
        }
    }

    static let usage =
        #"send "ping", {"topics": ["..."]}, {"envelope": true}, {"resume": {"topic": {"epoch": "...", "offset": 0}}} or {"token": "..."}"#

    static func parse(_ text: String) throws(Invalid) -> ClientCommand {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed == "ping" {
            return .ping
        }
        guard trimmed.hasPrefix("{") else {
            throw Invalid(message: "unknown command: \(usage)")
        }
        let request: Request
        do {
            request = try JSONDecoder().decode(Request.self, from: Data(trimmed.utf8))
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            switch context.codingPath.first?.stringValue {
            case "envelope": throw Invalid(message: #""envelope" must be true or false"#)
            case "resume": throw Invalid(message: #""resume" must map topics to {"epoch": "...", "offset": 0}"#)
            case "token": throw Invalid(message: #""token" must be a string"#)
            default: throw Invalid(message: #""topics" must be a list of strings"#)
            }
        } catch DecodingError.keyNotFound(let key, _) {
            throw Invalid(message: #""resume" positions need "\#(key.stringValue)": {"epoch": "...", "offset": 0}"#)
        } catch {
            throw Invalid(message: "malformed JSON")
        }
        if let token = request.token {
            guard request.topics == nil, request.envelope == nil, request.resume == nil else {
                throw Invalid(message: #"send {"token": "..."} alone"#)
            }
            return .renew(token: token)
        }
        guard request.topics != nil || request.envelope != nil || request.resume != nil else {
            throw Invalid(message: #"missing "topics": send {"topics": ["..."]}"#)
        }
        let resume = (request.resume ?? [:])
            .map { Resume(topic: $0.key, position: StreamPosition(epoch: $0.value.epoch, offset: $0.value.offset)) }
            .sorted { $0.topic < $1.topic }
        return .update(Update(topics: request.topics, envelope: request.envelope, resume: resume))
    }
}
