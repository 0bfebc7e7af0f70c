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

    /// `-?(0|[1-9][0-9]*)` fitting in an `Int`, followed by a delimiter.
    private mutating func integer() -> Int? {
        let negative = self.peek() == UInt8(ascii: "-")
        if negative { self.index += 1 }
        let start = self.index
        var magnitude: UInt64 = 0
        while let byte = self.peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            magnitude = sum
            self.index += 1
        }
        let digits = self.index - start
        guard digits > 0, digits == 1 || self.bytes[start] != UInt8(ascii: "0") else { return nil }
        if let next = self.peek(), next == UInt8(ascii: ".") || next == UInt8(ascii: "e") || next == UInt8(ascii: "E") {
            return nil
        }
        if negative {
            guard magnitude <= UInt64(Int.max) + 1 else { return nil }
            return magnitude == UInt64(Int.max) + 1 ? Int.min : -Int(magnitude)
        }
        guard magnitude <= UInt64(Int.max) else { return nil }
        return Int(magnitude)
    }
}
