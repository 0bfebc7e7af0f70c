import Foundation
import NIOCore
import Testing

@testable import RelayGateway

/// The publish body's fast readers (`FlatJSONObject`, and the reader made for the commonest body)
/// must agree with `JSONDecoder` on every body they accept, and leave to `JSONDecoder` whatever
/// they are not sure of.
@Suite struct FlatJSONObjectTests {
    typealias Body = PublishHandler.Item

    enum Reader: CaseIterable, CustomTestStringConvertible {
        case flatObject
        case publishBody

        var testDescription: String { self == .flatObject ? "FlatJSONObject" : "publish body reader" }
    }

    /// What `JSONDecoder` makes of a body: the fields, or nil when it refuses it.
    private func decoded(_ text: String) -> Body? {
        try? JSONDecoder().decode(Body.self, from: Data(text.utf8))
    }

    private func fast(_ text: String, _ reader: Reader) -> Body? {
        self.fast(ByteBuffer(string: text), reader)
    }

    private func fast(_ buffer: ByteBuffer, _ reader: Reader) -> Body? {
        switch reader {
        case .flatObject: FlatJSONObject(buffer.readableBytesView).flatMap(Body.init)
        case .publishBody: Body(body: buffer)
        }
    }

    /// Returns whether the fast reader took the body itself.
    @discardableResult
    private func expectSameAsJSONDecoder(_ text: String, _ reader: Reader, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        guard let fast = self.fast(text, reader) else { return false }  // left to JSONDecoder: always correct
        let reference = self.decoded(text)
        #expect(reference != nil, "accepted what JSONDecoder refuses: \(text.debugDescription)", sourceLocation: sourceLocation)
        #expect(fast.topic == reference?.topic, "topic of \(text.debugDescription)", sourceLocation: sourceLocation)
        #expect(fast.message == reference?.message, "message of \(text.debugDescription)", sourceLocation: sourceLocation)
        #expect(fast.user_id == reference?.user_id, "user_id of \(text.debugDescription)", sourceLocation: sourceLocation)
        #expect(fast.id == reference?.id, "id of \(text.debugDescription)", sourceLocation: sourceLocation)
        return true
    }

    @Test(arguments: Reader.allCases) func readsTheCommonBodiesItself(_ reader: Reader) throws {
        let plain = try #require(self.fast(#"{"topic":"cats","user_id":1,"message":"hello"}"#, reader))
        #expect(plain.topic == "cats" && plain.user_id == 1 && plain.message == "hello")
        let spaced = try #require(self.fast(" {\n \"topic\" : \"cats\" ,\t\"user_id\": null, \"message\": \"\", \"id\": null }\r\n", reader))
        #expect(spaced.topic == "cats" && spaced.user_id == nil && spaced.message == "" && spaced.id == nil)
        let escaped = try #require(self.fast(#"{"topic":"t","message":"{\"a\":[1,2]}\n\t\\ \/ \u00e9 \ud83d\ude00 \u0000 ü"}"#, reader))
        #expect(escaped.message == "{\"a\":[1,2]}\n\t\\ / é 😀 \u{0} ü")
        let extremes = try #require(self.fast(#"{"topic":"t","message":"m","user_id":9223372036854775807,"id":"k-1"}"#, reader))
        #expect(extremes.user_id == Int.max && extremes.id == "k-1")
        // A key it does not know, or one written with an escape: FlatJSONObject reads them; the
        // publish body reader leaves them to JSONDecoder.
        let extra = self.fast(#"{"topic":"t","message":"m","extra":5}"#, reader)
        #expect(reader == .flatObject ? extra?.topic == "t" : extra == nil)
        let escapedKey = self.fast(#"{"topi\u0063":"t","message":"m"}"#, reader)
        #expect(reader == .flatObject ? escapedKey?.topic == "t" : escapedKey == nil)
    }

    @Test(arguments: Reader.allCases) func leavesWhatItIsNotSureOfToJSONDecoder(_ reader: Reader) {
        let unsure = [
            #"{"topic":"t","message":"m","user_id":1.0}"#,  // a fraction
            #"{"topic":"t","message":"m","user_id":1e2}"#,  // an exponent
            #"{"topic":"t","message":"m","user_id":01}"#,  // a leading zero
            #"{"topic":"t","message":"m","user_id":99999999999999999999}"#,  // past 64 bits
            #"{"topic":"t","message":"m","user_id":"1"}"#,  // a string where an integer goes
            #"{"topic":"t","message":"m","flag":true}"#,  // a boolean
            #"{"topic":"t","message":"m","more":{"a":1}}"#,  // nested
            #"{"topic":"t","message":"m","topic":"u"}"#,  // a repeated key
            #"{"topic":"t","message":"m","id":"a","id":"b"}"#,  // a repeated id
            #"{"topic":"t","message":"m","id":5}"#,  // an integer where a string goes
            #"{"topic":"t","message":"m",}"#,  // a trailing comma
            #"{"topic":"t"}"#,  // a missing field
            #"{"topic":"t","message":"\ud83d"}"#,  // a lone surrogate
            #"{"topic":"t","message":"\x"}"#,  // a bad escape
            "{\"topic\":\"t\",\"message\":\"a\u{1}b\"}",  // a raw control character
            #"{"topic":"t","message":"m"} x"#,  // trailing bytes
            #"["topic"]"#, "", "{", "null",
        ]
        for text in unsure {
            #expect(self.fast(text, reader) == nil, "should be left to JSONDecoder: \(text.debugDescription)")
        }
        // Invalid UTF-8 inside a string.
        var invalid = ByteBuffer(string: #"{"topic":"t","message":""#)
        invalid.writeBytes([0xC3, 0x28])
        invalid.writeString(#""}"#)
        #expect(self.fast(invalid, reader) == nil)
    }

    @Test(arguments: Reader.allCases) func agreesWithJSONDecoderOnCraftedBodies(_ reader: Reader) {
        let values = [
            #""cats""#, #""""#, #""a\"b""#, #""\u0041\u00DF\u6771\uD834\uDD1E""#, #""tab\there""#, "0", "-0", "7", "-42",
            "9223372036854775807", "-9223372036854775808", "null", #""\/\b\f\r""#,
        ]
        var taken = 0
        for topic in values {
            for message in values {
                for userID in values + [nil] {
                    let fields = [#""topic":\#(topic)"#, #""message":\#(message)"#] + (userID.map { [#""user_id":\#($0)"#] } ?? [])
                    for text in ["{" + fields.joined(separator: ",") + "}", "{ " + fields.reversed().joined(separator: " ,\n") + " }"]
                    where self.expectSameAsJSONDecoder(text, reader) {
                        taken += 1
                    }
                }
            }
        }
        // Strings for topic and message (6 of the 13 values each); user_id an integer (6), null or
        // absent: 6 × 6 × 8, in two layouts.
        #expect(taken == 576)
    }

    @Test(arguments: Reader.allCases) func agreesWithJSONDecoderOnRandomBodies(_ reader: Reader) {
        var generator = SystemRandomNumberGenerator()
        let pieces = [
            "{", "}", "\"", ":", ",", " ", "\\", "\\u", "\\\"", "topic", "message", "user_id", "\"topic\":", "\"message\":",
            "\"user_id\":", "\"id\":", "12", "-", "0", "null", "é", "\u{1}", "d83d", "1.5", "[", "]", "\"x\"",
        ]
        let base = #"{"topic":"t","user_id":3,"message":"m"}"#
        for _ in 0..<20_000 {
            var text = base
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let offset = Int.random(in: 0...text.count, using: &generator)
                let index = text.index(text.startIndex, offsetBy: offset)
                if Bool.random(using: &generator), offset < text.count {
                    text.remove(at: index)
                } else {
                    text.insert(contentsOf: pieces.randomElement(using: &generator)!, at: index)
                }
            }
            self.expectSameAsJSONDecoder(text, reader)
        }
    }
}
