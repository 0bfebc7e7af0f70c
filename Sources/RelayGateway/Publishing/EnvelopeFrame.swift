import Foundation
import NIOCore
import RelayCore

/// The JSON frames of envelope mode, written by hand in a fixed key order:
/// `{"topic":"cats","offset":5,"epoch":"9f2c41d0","user_id":1,"message":"..."}` (`offset` and
/// `epoch` only with history on, `user_id` only for addressed messages), and the notices the
/// server sends to envelope clients, such as `{"type":"recovered",...}`.
enum EnvelopeFrame {
    static func encode(topic: String, position: StreamPosition?, userID: Int?, message: String) -> ByteBuffer {
        var json = #"{"topic":"#
        json.reserveCapacity(message.utf8.count + topic.utf8.count + 80)
        appendQuoted(topic, to: &json)
        if let position {
            json += #","offset":\#(position.offset),"epoch":"#
            appendQuoted(position.epoch, to: &json)
        }
        if let userID {
            json += #","user_id":\#(userID)"#
        }
        json += #","message":"#
        appendQuoted(message, to: &json)
        json += "}"
        return ServerFrame.text(json)
    }

    /// The result of a resume, for one topic.
    struct Recovered: Encodable {
        let type = "recovered"
        let topic: String
        let recovered: Bool
        let missed: Int
        let epoch: String?
        let offset: UInt64?
    }

    /// Where a topic's stream stands when an envelope client subscribes to it: the position to
    /// resume from if nothing arrives before the client drops.
    struct Subscribed: Encodable {
        let type = "subscribed"
        let topic: String
        let epoch: String
        let offset: UInt64
    }

    static func notice(_ value: some Encodable) -> ByteBuffer {
        ServerFrame.text((try? JSONResponse.encoder.encode(value)) ?? Data("{}".utf8))
    }

    /// Appends `text` as a JSON string literal (RFC 8259 escapes).
    static func appendQuoted(_ text: String, to json: inout String) {
        json += "\""
        var start = text.unicodeScalars.startIndex
        var index = start
        let scalars = text.unicodeScalars
        while index < scalars.endIndex {
            let scalar = scalars[index]
            let escape: String? =
                switch scalar {
                case "\"": "\\\""
                case "\\": "\\\\"
                case "\n": "\\n"
                case "\r": "\\r"
                case "\t": "\\t"
                case _ where scalar.value < 0x20: String(format: "\\u%04x", scalar.value)
                default: nil
                }
            if let escape {
                json.unicodeScalars.append(contentsOf: scalars[start..<index])
                json += escape
                start = scalars.index(after: index)
            }
            index = scalars.index(after: index)
        }
        json.unicodeScalars.append(contentsOf: scalars[start..<scalars.endIndex])
        json += "\""
    }
}
