import Foundation
import HTTPTypes
import JWTKit
import RelayCore
import RelayHTTP
import Synchronization

/// Checks a JWT against a `jwt` filter's settings and turns its claims into a ``RequestIdentity``.
/// Every refusal is an `HTTPError` (401, or 403 for a `require:` claim the token lacks) whose
/// message says which check failed, never the token.
final class JWTVerifier: Sendable {
    let settings: JWTSettings
    /// One key collection per accepted algorithm, built once (jwt-kit's collections are actors).
    private let collections: Task<[String: JWTKeyCollection], Never>
    /// The claims of tokens whose signature verified lately, by token: a client that sends the
    /// same token again (a backend publishing) skips the signature and the task hop; its claims
    /// are still checked at each request. Bounded: emptied when full. A reload builds a new
    /// verifier, so a rotated key never finds an old entry.
    private let verified = Mutex<[String: [String: JSONValue]]>([:])
    static let verifiedCapacity = 1024
    /// Where `exp`, `nbf` and `iat` are checked against.
    let clock: any GatewayClock

    init(settings: JWTSettings, clock: any GatewayClock = SystemClock.system) {
        self.settings = settings
        self.clock = clock
        self.collections = Task { [settings] in
            var collections: [String: JWTKeyCollection] = [:]
            for algorithm in settings.algorithms {
                let keys = JWTKeyCollection()
                for key in settings.keys where key.algorithms.contains(algorithm) {
                    await key.add(to: keys, as: algorithm)
                }
                collections[algorithm] = keys
            }
            return collections
        }
    }

    struct Header: Decodable, Sendable {
        let alg: String?
        let kid: String?
        /// Extensions the token says a verifier must understand (RFC 7515 §4.1.11).
        let crit: JSONValue?
        /// `false` for an unencoded payload (RFC 7797).
        let b64: JSONValue?
    }

    /// The token's header, once it names an accepted algorithm and nothing this gateway cannot
    /// honour; its header and claims must not name a member twice.
    func header(of token: String) throws(HTTPError) -> Header {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let data = Self.base64URLDecoded(parts[0]),
            let header = try? JSONDecoder().decode(Header.self, from: data)
        else {
            throw Self.invalid("malformed token: expected three base64url parts, the first a JSON header")
        }
        if let name = DuplicateMemberScan.firstDuplicate(in: Array(data)) {
            throw Self.invalid("malformed token: its header names \"\(Self.printable(name))\" twice")
        }
        if let payload = Self.base64URLDecoded(parts[1]), let name = DuplicateMemberScan.firstDuplicate(in: Array(payload)) {
            throw Self.invalid("malformed token: its claims name \"\(Self.printable(name))\" twice")
        }
        if let crit = header.crit {
            // No extension is understood here, so any the token marks critical refuses it.
            let names = crit.strings()?.map(Self.printable).joined(separator: ", ") ?? "(not a list of names)"
            throw Self.invalid("token header marks extensions critical that this gateway does not support (crit: \(names))")
        }
        if let b64 = header.b64, b64 != .bool(true) {
            throw Self.invalid("tokens with an unencoded payload (b64) are not supported")
        }
        guard let alg = header.alg, !alg.isEmpty else {
            throw Self.invalid("malformed token: its header names no \"alg\"")
        }
        guard alg.lowercased() != "none" else {
            throw Self.invalid("unsigned token (alg none) refused")
        }
        guard self.settings.algorithms.contains(alg) else {
            throw Self.invalid(
                "token algorithm \(Self.printable(alg)) is not accepted here (accepted: \(self.settings.algorithms.joined(separator: ", ")))")
        }
        return header
    }

    /// Verifies the signature, then the claims, and gives the identity they prove.
    func identity(of token: String, header: Header) async throws(HTTPError) -> RequestIdentity {
        guard let alg = header.alg, let keys = await self.collections.value[alg] else {
            throw Self.invalid("token algorithm is not accepted here")
        }
        let claims: [String: JSONValue]
        do {
            claims = try await keys.verify(token, as: Claims.self).values
            self.verified.withLock { verified in
                if verified.count >= Self.verifiedCapacity { verified.removeAll(keepingCapacity: true) }
                verified[token] = claims
            }
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            throw Self.invalid("token signature does not verify")
        } catch let error as JWTError where error.errorType == .malformedToken {
            throw Self.invalid("malformed token")
        } catch is DecodingError {
            throw Self.invalid("malformed token: its payload is not a JSON object")
        } catch {
            throw Self.invalid("token signature does not verify")
        }
        return try self.identity(from: claims, now: self.clock.secondsSince1970)
    }

    /// The identity of a token whose signature verified lately, its claims checked now; nil when
    /// it must be verified (``identity(of:header:)``).
    func recentIdentity(of token: String) throws(HTTPError) -> RequestIdentity? {
        guard let claims = self.verified.withLock({ $0[token] }) else { return nil }
        return try self.identity(from: claims, now: self.clock.secondsSince1970)
    }

    /// The claims' checks, at `now` (seconds since 1970), and the identity they give.
    func identity(from claims: [String: JSONValue], now: Double) throws(HTTPError) -> RequestIdentity {
        let leeway = self.settings.leeway
        let expiresAt = try Self.time(claims, "exp")
        if let exp = expiresAt, now >= exp + leeway {
            throw Self.invalid("token expired")
        }
        if let nbf = try Self.time(claims, "nbf"), now + leeway < nbf {
            throw Self.invalid("token not valid yet (nbf)")
        }
        if let iat = try Self.time(claims, "iat"), now + leeway < iat {
            throw Self.invalid("token issued in the future (iat)")
        }
        if let issuer = self.settings.issuer, claims["iss"] != .string(issuer) {
            throw Self.invalid("token issuer is not \"\(issuer)\"")
        }
        if let audience = self.settings.audience, !(claims["aud"]?.strings() ?? []).contains(audience) {
            throw Self.invalid("token audience does not include \"\(audience)\"")
        }
        for (claim, value) in self.settings.required where !(claims[claim]?.strings(splittingWords: true) ?? []).contains(value) {
            throw HTTPError(
                .forbidden, "token claim \"\(claim)\" does not contain \"\(value)\"",
                headers: [.wwwAuthenticate: #"Bearer error="insufficient_scope""#]
            )
        }
        let topics: TopicRights
        switch claims[self.settings.topicsClaim] {
        case nil: topics = .any
        case let value?:
            guard case .array = value, let patterns = value.strings() else {
                throw Self.invalid("token claim \"\(self.settings.topicsClaim)\" must be a list of topics")
            }
            topics = TopicRights(patterns)
        }
        let user = try self.user(claims)
        return RequestIdentity(
            // Accepted until exp plus the leeway: a WebSocket stays open that long.
            userID: user?.id, user: user?.text, topics: topics, expiresAt: expiresAt.map { $0 + leeway }, claims: claims,
            renew: { [self] token async throws(HTTPError) in
                try await self.identity(of: token, header: try self.header(of: token))
            }
        )
    }

    /// The user claim as text, and as a user id when it is one.
    private func user(_ claims: [String: JSONValue]) throws(HTTPError) -> (text: String, id: Int?)? {
        let claim = self.settings.userClaim
        switch claims[claim] {
        case nil: return nil
        case .number(let number)? where number >= 0 && number < 9e15 && number.rounded() == number: return (String(Int(number)), Int(number))
        case .string(let text)? where !text.isEmpty:
            let isID = text.utf8.count <= 18 && text.utf8.allSatisfy { (48...57).contains($0) }
            return (text, isID ? Int(text) : nil)
        default: throw Self.invalid("token claim \"\(claim)\" must be a string or an integer ≥ 0")
        }
    }

    /// A NumericDate claim (RFC 7519 §2), if present.
    private static func time(_ claims: [String: JSONValue], _ name: String) throws(HTTPError) -> Double? {
        switch claims[name] {
        case nil: return nil
        // Up to the year 5000: milliseconds, or a sentinel like 1e300, are not a time.
        case .number(let seconds)? where seconds.isFinite && abs(seconds) < 1e11: return seconds
        default: throw invalid("token claim \"\(name)\" must be a number of seconds since 1970")
        }
    }

    static func invalid(_ message: String) -> HTTPError {
        HTTPError(.unauthorized, message, headers: [.wwwAuthenticate: #"Bearer error="invalid_token""#])
    }

    /// An `alg` as the client wrote it, cut short and without quotes, for the error message.
    private static func printable(_ text: String) -> String {
        String(text.prefix(16).filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
    }

    private static func base64URLDecoded(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }

    /// A payload of any claims; the checks above read them.
    struct Claims: JWTPayload {
        let values: [String: JSONValue]

        init(values: [String: JSONValue]) {
            self.values = values
        }

        init(from decoder: any Decoder) throws {
            self.values = try [String: JSONValue](from: decoder)
        }

        func encode(to encoder: any Encoder) throws {
            try self.values.encode(to: encoder)
        }

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }
}
