import NIOCore

/// The whole check of one signed request, apart from HTTP: the two header values, the body and
/// the time. Cheap checks come first (form, then time), the HMAC last.
public struct SignatureCheck: Sendable {
    public let signature: WebhookSignature
    /// Header names, for the messages.
    public let signatureHeader: String
    public let timestampHeader: String
    /// How far a timestamp may be from now, either way, in seconds.
    public let windowSeconds: Int64

    public init(signature: WebhookSignature, signatureHeader: String, timestampHeader: String, windowSeconds: Int64) {
        self.signature = signature
        self.signatureHeader = signatureHeader
        self.timestampHeader = timestampHeader
        self.windowSeconds = windowSeconds
    }

    /// Passes when `signatureValue` signs `body` at `timestampValue`, and that timestamp is
    /// within the window of `now` (Unix seconds); throws why not.
    public func verify(signatureValue: String?, timestampValue: String?, body: ByteBuffer, now: Int64) throws(SignatureRefusal) {
        guard let signatureValue else { throw .missing(header: self.signatureHeader) }
        guard let timestampValue else { throw .missing(header: self.timestampHeader) }
        guard signatureValue.hasPrefix(WebhookSignature.prefix),
            let digest = Hex.decode(signatureValue.dropFirst(WebhookSignature.prefix.count)), digest.count == 32
        else {
            throw .malformed(header: self.signatureHeader, expected: "\(WebhookSignature.prefix)<64 hex digits>")
        }
        guard let timestamp = Self.unixSeconds(timestampValue) else {
            throw .malformed(header: self.timestampHeader, expected: "Unix time in seconds")
        }
        guard abs(now - timestamp) <= self.windowSeconds else {
            throw .outsideWindow(windowSeconds: self.windowSeconds)
        }
        guard self.signature.matches(digest: digest, timestamp: timestampValue, body: body) else {
            throw .mismatch
        }
    }

    /// `1718000000`: ASCII digits only (no sign, no spaces), few enough not to overflow.
    static func unixSeconds(_ text: String) -> Int64? {
        guard (1...12).contains(text.utf8.count), text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            return nil
        }
        return Int64(text)
    }
}
