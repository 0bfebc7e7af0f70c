import NIOCore

/// A JSON object whose values are strings, integers or nulls, read without Foundation's
/// `JSONDecoder`: the publish body, on the hot path. `JSONDecoder` costs about 8% of the server's
/// CPU per publish (perf, BENCHMARKS.md); this reader does the same work in a single pass.
///
/// It accepts only what it is sure of. Anything else (nested values, fractions, exponents,
/// `true`/`false`, repeated keys, invalid UTF-8, malformed JSON) makes `init` return nil, and the
/// caller asks `JSONDecoder`, which gives the verdict and the error message. So for every body this
/// reader accepts, the result is the one `JSONDecoder` would give (`FlatJSONObjectTests` checks
/// that on crafted and random bodies).
struct FlatJSONObject {
    enum Value: Equatable {
        case string(String)
        case integer(Int)
        case null
    }

    private(set) var fields: [String: Value] = [:]

    subscript(key: String) -> Value? { self.fields[key] }

    /// (A `ByteBufferView`'s storage is always contiguous.)
    init?(_ bytes: ByteBufferView) {
        let parsed = bytes.withContiguousStorageIfAvailable { bytes in
            var reader = JSONReader(bytes: bytes)
            return reader.flatObject()
        }
        guard case let fields?? = parsed else { return nil }
        self.fields = fields
    }
}

extension JSONReader {
    /// The whole text as one flat object, in one pass.
    mutating func flatObject() -> [String: FlatJSONObject.Value]? {
        var fields: [String: FlatJSONObject.Value] = [:]
        guard self.take(UInt8(ascii: "{")) else { return nil }
        if !self.take(UInt8(ascii: "}")) {
            repeat {
                self.skipSpace()
                guard let key = self.string(), self.take(UInt8(ascii: ":")), let value = self.value(),
                    fields.updateValue(value, forKey: key) == nil
                else { return nil }
            } while self.take(UInt8(ascii: ","))
            guard self.take(UInt8(ascii: "}")) else { return nil }
        }
        self.skipSpace()
        return self.index == self.bytes.count ? fields : nil
    }

    private mutating func value() -> FlatJSONObject.Value? {
        self.skipSpace()
        guard self.index < self.bytes.count else { return nil }
        switch self.bytes[self.index] {
        case UInt8(ascii: "\""):
            return self.string().map(FlatJSONObject.Value.string)
        case UInt8(ascii: "n"):
            return self.literal("null") ? FlatJSONObject.Value.null : nil
        default:
            return self.integer().map(FlatJSONObject.Value.integer)
        }
    }
}
