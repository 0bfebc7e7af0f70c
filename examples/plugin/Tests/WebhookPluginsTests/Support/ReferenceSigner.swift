import Crypto
import Foundation

/// Signs as a publisher would, straight with swift-crypto and none of the package's code, so the
/// tests check the filter against the scheme rather than against itself.
enum ReferenceSigner {
    /// `sha256=<hex of HMAC-SHA256(secret, "<timestamp>.<body>")>`.
    static func signature(secret: String, timestamp: String, body: [UInt8]) -> String {
        let code = HMAC<SHA256>.authenticationCode(
            for: Array("\(timestamp).".utf8) + body, using: SymmetricKey(data: Array(secret.utf8))
        )
        return "sha256=" + code.map { String(format: "%02x", $0) }.joined()
    }
}

/// The clock publishers sign with.
enum UnixTime {
    static var now: Int64 { Int64(Date().timeIntervalSince1970) }
}
