import Foundation

/// What a subscriber may say in a text frame.
///
/// - `ping` (surrounding whitespace ignored, so websocat's `ping\n` counts) is answered with `pong`;
/// - `{"topics": ["a", "b"]}` replaces the client's topics.
enum ClientCommand: Equatable {
    case ping
    case setTopics([String])

    struct Invalid: Error, Equatable {
        let message: String
    }

    private struct TopicsRequest: Decodable {
        let topics: [String]
    }

    static func parse(_ text: String) throws(Invalid) -> ClientCommand {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed == "ping" {
            return .ping
        }
        guard trimmed.hasPrefix("{") else {
            throw Invalid(message: #"unknown command: send "ping" or {"topics": ["..."]}"#)
        }
        do {
            return .setTopics(try JSONDecoder().decode(TopicsRequest.self, from: Data(trimmed.utf8)).topics)
        } catch DecodingError.keyNotFound {
            throw Invalid(message: #"missing "topics": send {"topics": ["..."]}"#)
        } catch DecodingError.typeMismatch, DecodingError.valueNotFound {
            throw Invalid(message: #""topics" must be a list of strings"#)
        } catch {
            throw Invalid(message: "malformed JSON")
        }
    }
}
