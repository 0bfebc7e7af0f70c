import Foundation
import JWTKit
import Testing

@testable import RelayGateway

/// Keys made when a test runs (RSA by openssl, EC and Ed25519 by jwt-kit; none committed), their
/// public halves as PEM and JWKS files in a fresh folder, and JWTs signed with them.
struct TestTokens: Sendable {
    let directory: URL
    let rsa: Insecure.RSA.PrivateKey
    let ec: ES256PrivateKey
    let ed: EdDSA.PrivateKey
    /// An HMAC secret of 64 bytes, long enough for HS512, for `tokens:`.
    static let secret = "test-hmac-secret-0123456789-abcdef-0123456789-abcdef-0123456789ab"

    var rsaPublicPEM: String { self.path("rsa.pub.pem") }
    var ecPublicPEM: String { self.path("ec.pub.pem") }
    var rsaPrivatePEM: String { self.path("rsa.key") }
    /// `{"keys": [EC with kid "ec-1", Ed25519 with kid "ed-1"]}`.
    var jwks: String { self.path("keys.jwks") }

    func path(_ name: String) -> String { self.directory.appendingPathComponent(name).path }

    static func make() async throws -> TestTokens {
        let openssl = try Prerequisite.program("openssl", install: "apt-get install openssl")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("relay-jwt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let made = try await Program.run(
            openssl, ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "rsa.key"], limit: .seconds(60), in: directory
        )
        guard made.status == 0 else { throw TestCertificates.Failed(description: "openssl genpkey: \(made.stderr)") }
        let rsa = try Insecure.RSA.PrivateKey(pem: String(contentsOf: directory.appendingPathComponent("rsa.key"), encoding: .utf8))
        let ec = ES256PrivateKey()
        let ed = try EdDSA.PrivateKey()
        try rsa.publicKey.pemRepresentation.write(to: directory.appendingPathComponent("rsa.pub.pem"), atomically: true, encoding: .utf8)
        try ec.publicKey.pemRepresentation.write(to: directory.appendingPathComponent("ec.pub.pem"), atomically: true, encoding: .utf8)
        let parameters = try #require(ec.publicKey.parameters)
        let edX = ed.publicKey.rawRepresentation.base64URLEncodedString()
        let jwks = """
            {"keys": [
              {"kty": "EC", "crv": "P-256", "kid": "ec-1", "alg": "ES256", "x": "\(parameters.x)", "y": "\(parameters.y)"},
              {"kty": "OKP", "crv": "Ed25519", "kid": "ed-1", "alg": "EdDSA", "x": "\(edX)"}
            ]}
            """
        try jwks.write(to: directory.appendingPathComponent("keys.jwks"), atomically: true, encoding: .utf8)
        return TestTokens(directory: directory, rsa: rsa, ec: ec, ed: ed)
    }

    enum Signer {
        case hs256(String)
        case hs384(String)
        case hs512(String)
        case rs256, ps256
        case es256(kid: String?)
        case eddsa(kid: String?)
    }

    /// A JWT with these claims; `exp` defaults to a minute from now.
    func token(_ signer: Signer, _ claims: [String: JSONValue], expiresIn: Double? = 60) async throws -> String {
        var claims = claims
        if let expiresIn, claims["exp"] == nil {
            claims["exp"] = .number((Date().timeIntervalSince1970 + expiresIn).rounded())
        }
        let keys = JWTKeyCollection()
        var kid: JWKIdentifier?
        switch signer {
        case .hs256(let secret): await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        case .hs384(let secret): await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha384)
        case .hs512(let secret): await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha512)
        case .rs256: await keys.add(rsa: self.rsa, digestAlgorithm: .sha256)
        case .ps256: await keys.add(pss: self.rsa, digestAlgorithm: .sha256)
        case .es256(let id):
            kid = id.map { JWKIdentifier(string: $0) }
            await keys.add(ecdsa: self.ec, kid: kid)
        case .eddsa(let id):
            kid = id.map { JWKIdentifier(string: $0) }
            await keys.add(eddsa: self.ed, kid: kid)
        }
        return try await keys.sign(JWTVerifier.Claims(values: claims), kid: kid)
    }

    /// A token with `header` and `claims` as given and `signature` as the third part: what no
    /// library would sign (alg none, a made-up alg).
    static func raw(header: String, claims: String, signature: String = "") -> String {
        Data(header.utf8).base64URLEncodedString() + "." + Data(claims.utf8).base64URLEncodedString() + "." + signature
    }

    /// A token whose header and claims are exactly these texts (a repeated member, a `crit` list),
    /// correctly signed with HS256 and `secret`: what a library would not write but an attacker can.
    static func rawHS256(header: String, claims: String, secret: String = Self.secret) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        let signingInput = Data(header.utf8).base64URLEncodedString() + "." + Data(claims.utf8).base64URLEncodedString()
        let signature = try await keys.getKey(alg: "HS256").sign(Array(signingInput.utf8))
        return signingInput + "." + Data(signature).base64URLEncodedString()
    }
}

extension Data {
    func base64URLEncodedString() -> String {
        self.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
