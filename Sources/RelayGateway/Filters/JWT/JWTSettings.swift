import Foundation
import JWTKit
import RelayConfig

/// A `jwt` filter's options, read and checked: its keys (files read now), the algorithms it
/// accepts, and the claims it checks and reads.
struct JWTSettings: Sendable {
    var keys: [JWTVerificationKey]
    /// Accepted `alg` values; never `none`.
    var algorithms: [String]
    var issuer: String?
    var audience: String?
    /// Allowed clock skew on `exp`, `nbf` and `iat`, in seconds.
    var leeway: Double
    var userClaim: String
    var topicsClaim: String
    /// Each claim must contain its value (a list holding it, or a space-separated string with it as a word).
    var required: [(claim: String, value: String)]

    static let allowedKeys = [
        "type", "secret", "public_key", "jwks", "algorithms", "issuer", "audience", "leeway", "user_claim", "topics_claim", "require",
    ]
    /// A key or JWKS file larger than this is not one.
    static let maxKeyFileBytes = 1 << 20

    init(_ declaration: FilterDeclaration, environment: FilterEnvironment) throws(ConfigError) {
        let options = declaration.options
        try options.rejectUnknownKeys(allowed: Self.allowedKeys)
        let sources = ["secret", "public_key", "jwks"].filter { options.node($0) != nil }
        guard sources.count == 1 else {
            throw declaration.location.error(
                sources.isEmpty
                    ? "give the key: secret: TOKEN_NAME (HMAC), public_key: FILE (PEM) or jwks: FILE"
                    : "give one of secret, public_key and jwks, not \(sources.joined(separator: " and "))"
            )
        }
        let keyNode = try options.required(sources[0])
        var secretLength: Int?
        switch sources[0] {
        case "secret":
            let secret = try environment.secret(named: keyNode)
            secretLength = secret.utf8.count
            // RFC 7518 §3.2: an HS256 key at least as long as its hash (32 bytes).
            guard secret.utf8.count >= 32 else {
                throw keyNode.location.error("the token's secret is \(secret.utf8.count) bytes; an HMAC secret needs at least 32")
            }
            self.keys = [JWTVerificationKey(material: .hmac(HMACKey(from: secret)), kid: nil, algorithm: nil)]
        case "public_key":
            let text = String(decoding: try Self.read(keyNode), as: UTF8.self)
            do {
                self.keys = [try JWTVerificationKey.pem(text)]
            } catch {
                throw keyNode.location.error("\(try keyNode.path()): \(error.message)")
            }
        default:
            let data = try Self.read(keyNode)
            do {
                self.keys = try JWTVerificationKey.jwks(data)
            } catch {
                throw keyNode.location.error("\(try keyNode.path()): \(error.message)")
            }
        }

        let verifiable = self.keys.flatMap(\.algorithms)
        if let node = options.node("algorithms") {
            let names = try node.list()
            guard !names.isEmpty else { throw node.location.error("list at least one algorithm") }
            var algorithms: [String] = []
            for item in names {
                let name = try item.nonEmptyString()
                guard name.lowercased() != "none" else {
                    throw item.location.error("\"none\" is never accepted: a token must be signed")
                }
                guard JWTVerificationKey.knownAlgorithms.contains(name) else {
                    throw item.location.error("unknown algorithm \"\(name)\" (known: \(JWTVerificationKey.knownAlgorithms.joined(separator: ", ")))")
                }
                guard verifiable.contains(name) else {
                    throw item.location.error(
                        "\(name) cannot be verified with \(self.keys[0].kind) (it can verify \(Self.unique(verifiable).joined(separator: ", ")))")
                }
                algorithms.append(name)
            }
            self.algorithms = algorithms
        } else {
            // One per key: the first it can verify (HS256 for a secret, RS256 for RSA), or a JWKS key's own `alg`.
            self.algorithms = Self.unique(self.keys.compactMap(\.algorithms.first))
        }
        // RFC 7518 §3.2: an HMAC key at least as long as its hash (jwt-kit traps on shorter ones).
        if let secretLength {
            for algorithm in self.algorithms {
                let needed = Int(algorithm.dropFirst(2))! / 8
                guard secretLength >= needed else {
                    throw keyNode.location.error("\(algorithm) needs a secret of at least \(needed) bytes; the token's is \(secretLength)")
                }
            }
        }
        self.issuer = try options.node("issuer")?.nonEmptyString()
        self.audience = try options.node("audience")?.nonEmptyString()
        let leeway = try options.node("leeway")?.duration() ?? .zero
        self.leeway = Double(leeway.components.seconds) + Double(leeway.components.attoseconds) / 1e18
        self.userClaim = try options.node("user_claim")?.nonEmptyString() ?? "sub"
        self.topicsClaim = try options.node("topics_claim")?.nonEmptyString() ?? "topics"
        self.required =
            try options.node("require").map { node throws(ConfigError) in
                try node.mapping().entries().map { entry throws(ConfigError) in (entry.key, try entry.node.nonEmptyString()) }
            } ?? []
    }

    private static func read(_ node: ConfigNode) throws(ConfigError) -> Data {
        let path = try node.path()
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw node.location.error("cannot read \(path)")
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: Self.maxKeyFileBytes + 1)) ?? Data()
        guard data.count <= Self.maxKeyFileBytes else {
            throw node.location.error("\(path) is larger than \(Self.maxKeyFileBytes >> 20) MiB: not a key file")
        }
        guard !data.isEmpty else { throw node.location.error("\(path) is empty or unreadable") }
        return data
    }

    private static func unique(_ names: [String]) -> [String] {
        var seen: Set<String> = []
        return names.filter { seen.insert($0).inserted }
    }
}
