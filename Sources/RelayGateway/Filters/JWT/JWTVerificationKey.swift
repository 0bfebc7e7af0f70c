import Foundation
import JWTKit

/// A key a `jwt` filter verifies signatures with, from `secret:`, a PEM `public_key:` or one
/// entry of a `jwks:` file, and the algorithms it can verify.
struct JWTVerificationKey: Sendable {
    enum Material: Sendable {
        case hmac(HMACKey)
        case rsa(Insecure.RSA.PublicKey)
        case p256(ES256PublicKey)
        case p384(ES384PublicKey)
        case p521(ES512PublicKey)
        case eddsa(EdDSA.PublicKey)
    }

    let material: Material
    /// A JWKS entry's `kid`, which a token's header picks it by.
    let kid: String?
    /// A JWKS entry's `alg`, when it names one: then it verifies that algorithm only.
    let algorithm: String?

    /// What this kind of key can verify; the first is the default when `algorithms:` is not given.
    var algorithms: [String] {
        if let algorithm = self.algorithm { return [algorithm] }
        return Self.algorithms(of: self.material)
    }

    /// The signature algorithms a key of this kind verifies.
    static func algorithms(of material: Material) -> [String] {
        switch material {
        case .hmac: ["HS256", "HS384", "HS512"]
        case .rsa: ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]
        case .p256: ["ES256"]
        case .p384: ["ES384"]
        case .p521: ["ES512"]
        case .eddsa: ["EdDSA"]
        }
    }

    var kind: String {
        switch self.material {
        case .hmac: "an HMAC secret"
        case .rsa: "an RSA key"
        case .p256: "a P-256 key"
        case .p384: "a P-384 key"
        case .p521: "a P-521 key"
        case .eddsa: "an Ed25519 key"
        }
    }

    /// Every algorithm a `jwt` filter knows.
    static let knownAlgorithms = [
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
    ]

    struct Unreadable: Error {
        let message: String
    }

    /// A PEM public key: RSA, EC (P-256, P-384, P-521) or Ed25519. A certificate is taken for its key.
    static func pem(_ text: String) throws(Unreadable) -> JWTVerificationKey {
        guard text.contains("-----BEGIN") else {
            throw Unreadable(message: "not a PEM file (no -----BEGIN line)")
        }
        guard !text.contains("PRIVATE KEY-----") else {
            throw Unreadable(message: "holds a private key; give the public key (openssl pkey -pubout)")
        }
        let isCertificate = text.contains("BEGIN CERTIFICATE")
        let attempts: [() throws -> Material] = [
            { .rsa(isCertificate ? try Insecure.RSA.PublicKey(certificatePEM: text) : try Insecure.RSA.PublicKey(pem: text)) },
            { .p256(isCertificate ? try ES256PublicKey(certificate: text) : try ES256PublicKey(pem: text)) },
            { .p384(isCertificate ? try ES384PublicKey(certificate: text) : try ES384PublicKey(pem: text)) },
            { .p521(isCertificate ? try ES512PublicKey(certificate: text) : try ES512PublicKey(pem: text)) },
            { .eddsa(try EdDSA.PublicKey(pem: text)) },
        ]
        for attempt in attempts {
            if let material = try? attempt() {
                return JWTVerificationKey(material: material, kid: nil, algorithm: nil)
            }
        }
        throw Unreadable(message: "not an RSA (2048 bits or more), EC (P-256, P-384, P-521) or Ed25519 public key")
    }

    /// Every key of a JWKS document (`{"keys": [...]}`), each with its `kid` and `alg`.
    static func jwks(_ data: Data) throws(Unreadable) -> [JWTVerificationKey] {
        let set: JWKS
        do {
            set = try JSONDecoder().decode(JWKS.self, from: data)
        } catch {
            throw Unreadable(message: #"not a JWKS document ({"keys": [...]})"#)
        }
        guard !set.keys.isEmpty else { throw Unreadable(message: "holds no keys") }
        var keys: [JWTVerificationKey] = []
        var skipped: [String] = []
        for (index, jwk) in set.keys.enumerated() {
            let kid = jwk.keyIdentifier?.string
            let name = kid.map { "key \"\($0)\"" } ?? "key \(index)"
            do {
                let material = try Self.material(of: jwk)
                // A key pinned to what it cannot sign with (an encryption key, "RSA-OAEP") verifies nothing here.
                if let algorithm = jwk.algorithm?.rawValue, !Self.algorithms(of: material).contains(algorithm) {
                    skipped.append("\(name) (\(algorithm))")
                    continue
                }
                keys.append(JWTVerificationKey(material: material, kid: kid, algorithm: jwk.algorithm?.rawValue))
            } catch let error as Unreadable {
                throw Unreadable(message: "\(name): \(error.message)")
            } catch {
                throw Unreadable(message: "\(name): unusable (\(error))")
            }
        }
        guard !keys.isEmpty else {
            throw Unreadable(message: "holds no signature key (skipped: \(skipped.joined(separator: ", ")))")
        }
        guard keys.filter({ $0.kid == nil }).count <= 1 else {
            throw Unreadable(message: "more than one key without a \"kid\": give each a kid, so a token can name its key")
        }
        return keys
    }

    private static func material(of jwk: JWK) throws -> Material {
        switch jwk.keyType {
        case .rsa:
            guard let modulus = jwk.modulus, let exponent = jwk.exponent else { throw Unreadable(message: #"an RSA key needs "n" and "e""#) }
            return .rsa(try Insecure.RSA.PublicKey(modulus: modulus, exponent: exponent))
        case .ecdsa:
            guard let x = jwk.x, let y = jwk.y else { throw Unreadable(message: #"an EC key needs "x" and "y""#) }
            switch jwk.curve?.rawValue {
            case "P-256": return .p256(try ES256PublicKey(parameters: (x, y)))
            case "P-384": return .p384(try ES384PublicKey(parameters: (x, y)))
            case "P-521": return .p521(try ES512PublicKey(parameters: (x, y)))
            default: throw Unreadable(message: #"an EC key's "crv" must be P-256, P-384 or P-521"#)
            }
        case .octetKeyPair:
            guard let x = jwk.x, jwk.curve?.rawValue == "Ed25519" else { throw Unreadable(message: #"an OKP key needs "crv": "Ed25519" and "x""#) }
            return .eddsa(try EdDSA.PublicKey(x: x, curve: .ed25519))
        default:
            throw Unreadable(message: #""kty" must be RSA, EC or OKP (an "oct" secret belongs in tokens:)"#)
        }
    }

    /// Adds this key to `keys` as the verifier of `algorithm` (one it can verify).
    func add(to keys: JWTKeyCollection, as algorithm: String) async {
        let kid = self.kid.map { JWKIdentifier(string: $0) }
        switch (self.material, algorithm) {
        case (.hmac(let key), "HS256"): await keys.add(hmac: key, digestAlgorithm: .sha256, kid: kid)
        case (.hmac(let key), "HS384"): await keys.add(hmac: key, digestAlgorithm: .sha384, kid: kid)
        case (.hmac(let key), _): await keys.add(hmac: key, digestAlgorithm: .sha512, kid: kid)
        case (.rsa(let key), "RS256"): await keys.add(rsa: key, digestAlgorithm: .sha256, kid: kid)
        case (.rsa(let key), "RS384"): await keys.add(rsa: key, digestAlgorithm: .sha384, kid: kid)
        case (.rsa(let key), "RS512"): await keys.add(rsa: key, digestAlgorithm: .sha512, kid: kid)
        case (.rsa(let key), "PS256"): await keys.add(pss: key, digestAlgorithm: .sha256, kid: kid)
        case (.rsa(let key), "PS384"): await keys.add(pss: key, digestAlgorithm: .sha384, kid: kid)
        case (.rsa(let key), _): await keys.add(pss: key, digestAlgorithm: .sha512, kid: kid)
        case (.p256(let key), _): await keys.add(ecdsa: key, kid: kid)
        case (.p384(let key), _): await keys.add(ecdsa: key, kid: kid)
        case (.p521(let key), _): await keys.add(ecdsa: key, kid: kid)
        case (.eddsa(let key), _): await keys.add(eddsa: key, kid: kid)
        }
    }
}
