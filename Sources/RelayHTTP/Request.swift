import HTTPTypes
import NIOCore

/// A request as filters and handlers see it: method, target, header fields (swift-http-types),
/// its whole body (already read, within the listener's limit) and the path parameters of the
/// route that matched.
public struct Request: Sendable {
    public let method: HTTPRequest.Method
    /// The `Host` field (or the authority of an absolute-form target).
    public let authority: String?
    /// The request target's path, without the query.
    public let path: Substring
    /// The query (after `?`, undecoded), if the target has one.
    public let query: Substring?
    /// Every header field but `Host` (see `authority`).
    public var headers: HTTPFields
    public var body: ByteBuffer
    /// The matched route's `{name}` segments.
    public internal(set) var parameters: Parameters

    /// - Parameter target: the path with its query, `/publish?x=1`.
    public init(method: HTTPRequest.Method, target: String, authority: String?, headers: HTTPFields, body: ByteBuffer = ByteBuffer()) {
        self.method = method
        self.authority = authority
        // Searched as bytes: `firstIndex(of: Character)` walks grapheme clusters (some 2,600
        // instructions a request, callgrind).
        if let mark = target.utf8.firstIndex(of: UInt8(ascii: "?")) {
            self.path = target[..<mark]
            self.query = target[target.index(after: mark)...]
        } else {
            self.path = target[...]
            self.query = nil
        }
        self.headers = headers
        self.body = body
        self.parameters = Parameters()
    }

    /// The first value of query parameter `name`, percent-decoded (`+` is a space); nil when the
    /// query does not have it.
    public func queryValue(_ name: String) -> String? {
        self.rawQueryValue(name).map(Self.percentDecoded)
    }

    /// The first value of query parameter `name` as a comma-separated list, split before each item
    /// is percent-decoded (RFC 3986 §2.2: `%2C` is a comma inside an item, not a separator); `[]`
    /// for an empty value, nil when the query does not have it.
    public func queryList(_ name: String) -> [String]? {
        guard let value = self.rawQueryValue(name) else { return nil }
        guard !value.isEmpty else { return [] }
        return value.split(separator: ",", omittingEmptySubsequences: false).map(Self.percentDecoded)
    }

    /// The first value of query parameter `name` as written (its name compared decoded).
    private func rawQueryValue(_ name: String) -> Substring? {
        guard let query = self.query else { return nil }
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let key: Substring
            let value: Substring
            if let equals = pair.firstIndex(of: "=") {
                key = pair[..<equals]
                value = pair[pair.index(after: equals)...]
            } else {
                key = pair
                value = ""
            }
            if Self.percentDecoded(key) == name {
                return value
            }
        }
        return nil
    }

    /// `%41` is `A`, `+` a space; a malformed escape stays as written, and bytes that are not
    /// UTF-8 are repaired (the query is read for names and tokens, never for binary data).
    static func percentDecoded(_ text: Substring) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next() else {
                    bytes.append(byte)
                    continue
                }
                guard let low = iterator.next() else {
                    bytes += [byte, high]
                    continue
                }
                if let h = Self.hexValue(high), let l = Self.hexValue(low) {
                    bytes.append(h << 4 | l)
                } else {
                    bytes += [byte, high, low]
                }
            default:
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// The `{name}` segments of a matched route, by name.
public struct Parameters: Sendable {
    private var pairs: [(name: String, value: Substring)] = []

    public init() {}

    mutating func append(_ name: String, _ value: Substring) {
        self.pairs.append((name, value))
    }

    public func get(_ name: String) -> String? {
        self.pairs.first { $0.name == name }.map { String($0.value) }
    }
}
