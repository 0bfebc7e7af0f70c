import NIOCore

/// The commonest publish body, `{"topic": "...", "message": "...", "user_id": N, "id": "..."}`
/// (`user_id` and `id` optional or null), read in one pass with its four keys compared as bytes:
/// no dictionary, no key strings. This is the hot path's reader, so it is written by hand.
///
/// Like ``FlatJSONObject`` it accepts only what it is sure of: any other key, a key given twice, a
/// value of another type or malformed JSON gives nil, and the handler asks `JSONDecoder`, which
/// gives the verdict and the error message. For every body it accepts, the result is the one
/// `JSONDecoder` gives (`PublishBodyReaderTests`, and the `FuzzFlatJSON` fuzzer).
extension PublishHandler.Item {
    init?(body: ByteBuffer) {
        let item = body.withUnsafeReadableBytes { raw in
            var reader = JSONReader(bytes: raw.bindMemory(to: UInt8.self))
            return reader.publishItem()
        }
        guard let item else { return nil }
        self = item
    }
}

extension JSONReader {
    private enum PublishKey: UInt8 {
        case topic = 1
        case message = 2
        case userID = 4
        case id = 8
    }

    /// The body as one ``PublishHandler/Item``, or nil.
    mutating func publishItem() -> PublishHandler.Item? {
        var topic: String?
        var message: String?
        var userID: Int?
        var id: String?
        var seen: UInt8 = 0
        guard self.take(UInt8(ascii: "{")) else { return nil }
        if !self.take(UInt8(ascii: "}")) {
            repeat {
                self.skipSpace()
                guard let key = self.publishKey(), seen & key.rawValue == 0, self.take(UInt8(ascii: ":")) else { return nil }
                seen |= key.rawValue
                self.skipSpace()
                switch key {
                case .topic:
                    guard let text = self.string() else { return nil }
                    topic = text
                case .message:
                    guard let text = self.string() else { return nil }
                    message = text
                case .userID:
                    if !self.literal("null") {
                        guard let number = self.integer() else { return nil }
                        userID = number
                    }
                case .id:
                    if !self.literal("null") {
                        guard let text = self.string() else { return nil }
                        id = text
                    }
                }
            } while self.take(UInt8(ascii: ","))
            guard self.take(UInt8(ascii: "}")) else { return nil }
        }
        self.skipSpace()
        guard self.index == self.bytes.count, let topic, let message else { return nil }
        return PublishHandler.Item(topic: topic, user_id: userID, message: message, id: id)
    }

    /// One of the four keys, written plainly (an escape in a key: nil, for `JSONDecoder`).
    private mutating func publishKey() -> PublishKey? {
        guard self.take(UInt8(ascii: "\""), skippingSpace: false) else { return nil }
        let start = self.index
        while let byte = self.peek(), byte != UInt8(ascii: "\"") {
            guard byte != UInt8(ascii: "\\") else { return nil }
            self.index += 1
        }
        guard self.peek() == UInt8(ascii: "\"") else { return nil }
        let key = UnsafeBufferPointer(rebasing: self.bytes[start..<self.index])
        self.index += 1
        switch key.count {
        case 2: return Self.equal(key, "id") ? .id : nil
        case 5: return Self.equal(key, "topic") ? .topic : nil
        case 7: return Self.equal(key, "message") ? .message : Self.equal(key, "user_id") ? .userID : nil
        default: return nil
        }
    }

    /// Byte by byte against a literal of the same length (a generic `elementsEqual` over a
    /// string's UTF-8 view cost some 800 instructions a body).
    private static func equal(_ key: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
        for offset in 0..<key.count where key[offset] != word.utf8Start[offset] {
            return false
        }
        return true
    }
}
