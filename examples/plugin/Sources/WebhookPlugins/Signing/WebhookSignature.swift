import Crypto
import Foundation
import NIOCore

/// The signing scheme: `sha256=<hex of HMAC-SHA256(secret, "<timestamp>.<body>")>`, the form
/// GitHub and Stripe webhooks use. Signing the timestamp with the body means a captured request
/// cannot be replayed later with a fresh timestamp.
public struct WebhookSignature: Sendable {
    /// What a signature header value starts with.
    public static let prefix = "sha256="

    private let key: SymmetricKey

    /// - Parameter secret: the shared secret, as its UTF-8 bytes.
    public init(secret: String) {
        self.key = SymmetricKey(data: Array(secret.utf8))
    }

    /// The signature header value for `body` sent at `timestamp` (the timestamp header's text).
    public func sign(timestamp: String, body: ByteBuffer) -> String {
        Self.prefix + Hex.encode(self.code(timestamp: timestamp, body: body))
    }

    /// Whether `digest` (the 32 bytes a header's hex spells) is the code of `body` sent at
    /// `timestamp`. The comparison takes the same time however much of it matches.
    public func matches(digest: [UInt8], timestamp: String, body: ByteBuffer) -> Bool {
        // HashedAuthenticationCode's == with bytes is swift-crypto's constant-time compare.
        self.code(timestamp: timestamp, body: body) == digest
    }

    private func code(timestamp: String, body: ByteBuffer) -> HashedAuthenticationCode<SHA256> {
        var hmac = HMAC<SHA256>(key: self.key)
        hmac.update(data: Array(timestamp.utf8))
        hmac.update(data: [UInt8(ascii: ".")])
        body.withUnsafeReadableBytes { hmac.update(data: $0) }
        return hmac.finalize()
    }
}

extension WebhookSignature: CustomStringConvertible {
    /// Never the secret, whoever prints it.
    public var description: String { "WebhookSignature(HMAC-SHA256)" }
}
