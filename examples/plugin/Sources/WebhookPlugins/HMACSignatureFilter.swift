import Foundation
import RelayGateway

/// `type: hmac_signature`: the request must be signed with a shared secret, as GitHub and Stripe
/// sign their webhooks. The publisher sends
///
///     X-Timestamp: <Unix seconds>
///     X-Signature: sha256=<hex of HMAC-SHA256(secret, "<timestamp>.<body>")>
///
/// and the filter passes it on only when the signature matches and the timestamp is within
/// `window` of now (so a captured request cannot be replayed later). Anything else is a 401 with
/// a JSON error, counted in `hmac_signature_refused_total{filter, reason}`.
///
/// ```yaml
/// tokens:
///   github: ${WEBHOOK_SECRET}
/// filters:
///   signed: {type: hmac_signature, secret: github, header: X-Signature, timestamp_header: X-Timestamp, window: 5m}
/// ```
public struct HMACSignatureFilter: RequestFilter {
    /// The options a declaration may have.
    static let optionKeys = ["type", "secret", "header", "timestamp_header", "window"]

    public static let plugin = FilterPlugin(type: "hmac_signature", readsTokens: true) { declaration, environment throws(ConfigError) in
        let options = declaration.options
        try options.rejectUnknownKeys(allowed: Self.optionKeys)
        let secret = try environment.secret(named: options.required("secret"))
        let signatureField = try Self.fieldName(options.node("header"), default: "X-Signature")
        let timestampField = try Self.fieldName(options.node("timestamp_header"), default: "X-Timestamp")
        let window = try Self.window(options.node("window"))
        let refusals: RefusalCounters
        do {
            refusals = try RefusalCounters(metrics: environment.metrics, filter: declaration.name)
        } catch {
            throw declaration.location.error("\(error)")
        }
        let check = SignatureCheck(
            signature: WebhookSignature(secret: secret),
            signatureHeader: signatureField.rawName,
            timestampHeader: timestampField.rawName,
            windowSeconds: window
        )
        return HMACSignatureFilter(
            check: check, signatureField: signatureField, timestampField: timestampField, refusals: refusals, clock: environment.clock)
    }

    let check: SignatureCheck
    let signatureField: HTTPField.Name
    let timestampField: HTTPField.Name
    let refusals: RefusalCounters
    /// The gateway's clock: a test can move it past the window.
    let clock: any GatewayClock

    public func handle(_ request: Request, context: RequestContext, next: any Responder) throws -> Reply {
        do throws(SignatureRefusal) {
            try self.check.verify(
                signatureValue: request.headers.first(self.signatureField),
                timestampValue: request.headers.first(self.timestampField),
                body: request.body,
                now: Int64(self.clock.secondsSince1970)
            )
        } catch {
            self.refusals.count(error.reason)
            throw HTTPError(.unauthorized, error.description)
        }
        return next.respond(to: request, context: context)
    }

    /// A header name option, or `default` when it is absent.
    private static func fieldName(_ node: ConfigNode?, default name: String) throws(ConfigError) -> HTTPField.Name {
        guard let node else { return HTTPField.Name(name)! }
        guard let field = HTTPField.Name(try node.nonEmptyString()) else {
            throw node.location.error("not a valid header field name")
        }
        return field
    }

    /// `window` in whole seconds: default 5m, at least 1s.
    private static func window(_ node: ConfigNode?) throws(ConfigError) -> Int64 {
        guard let node else { return 300 }
        let seconds = try node.duration().components.seconds
        guard seconds >= 1 else { throw node.location.error("must be at least 1s") }
        return seconds
    }
}

extension HMACSignatureFilter: CustomStringConvertible {
    /// Never the secret, whoever prints the filter.
    public var description: String { "HMACSignatureFilter(\(self.signatureField), \(self.timestampField), \(self.check.windowSeconds) s)" }
}
