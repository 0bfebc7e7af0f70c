import Foundation
import HTTPTypes
import JWTKit
import RelayConfig
import RelayCore
import RelayHTTP

/// `type: jwt`: the request must carry a signed JWT (`Authorization: Bearer`, or `?token=` on a
/// WebSocket upgrade) that verifies with the configured key and whose claims pass; its claims
/// then become the request's ``RequestIdentity`` (user, allowed topics) for every filter and
/// handler after it.
///
/// Signatures are checked by jwt-kit. What it leaves to the caller is done here, before any key
/// is used: the header's `alg` must be one the filter accepts (never `none`, never an HMAC
/// algorithm against a public key), and `exp`, `nbf`, `iat`, `iss`, `aud` and `require:` are
/// checked after the signature, so a forged token learns nothing about them.
struct JWTFilter: RequestFilter {
    static let plugin = FilterPlugin(type: "jwt", readsTokens: true, readsFiles: true) { declaration, environment throws(ConfigError) in
        JWTFilter(settings: try JWTSettings(declaration, environment: environment), metrics: environment.metrics, clock: environment.clock)
    }

    let verifier: JWTVerifier
    let metrics: RelayMetrics

    init(settings: JWTSettings, metrics: RelayMetrics, clock: any GatewayClock) {
        self.verifier = JWTVerifier(settings: settings, clock: clock)
        self.metrics = metrics
    }

    func handle(_ request: Request, context: RequestContext, next: any Responder) throws -> Reply {
        let verifier = self.verifier
        let metrics = self.metrics
        do throws(HTTPError) {
            guard let token = AuthFilter.credential(of: request, isUpgrade: context.takesCredentialInURL) else {
                throw HTTPError(.unauthorized, "missing bearer token", headers: [.wwwAuthenticate: "Bearer"])
            }
            // A token seen lately (its header and signature passed): no parsing, no task; its
            // claims are checked now, and it is answered on the loop.
            if let identity = try verifier.recentIdentity(of: token) {
                return Self.pass(request, as: identity, context: context, to: next)
            }
            // What needs no key is refused at once, on the event loop.
            let header = try verifier.header(of: token)
            return .async(on: context.eventLoop) {
                let identity: RequestIdentity
                do {
                    identity = try await verifier.identity(of: token, header: header)
                } catch {
                    metrics.authFailures.increment()
                    throw error
                }
                switch Self.pass(request, as: identity, context: context, to: next) {
                case .now(let response): return response
                case .later(let future): return try await future.get()
                }
            }
        } catch {
            metrics.authFailures.increment()
            throw error
        }
    }

    /// Hands the request on with the identity its token proved.
    private static func pass(_ request: Request, as identity: RequestIdentity, context: RequestContext, to next: any Responder) -> Reply {
        var context = context
        context.identity = identity
        return next.respond(to: request, context: context)
    }
}

extension JWTFilter: SubscriberRecheck {
    /// The token the connection holds now (its handshake's, or its last renewal's) must verify
    /// with the new settings (keys, issuer, audience, `require:`); it then takes the rights the
    /// token proves now, and renews through this filter from then on.
    func recheck(_ subscriber: OpenSubscriber) async -> Readmission {
        guard let token = subscriber.credential else { return .refuse("token no longer accepted") }
        do throws(HTTPError) {
            return .update(try await self.verifier.identity(of: token, header: try self.verifier.header(of: token)))
        } catch {
            return .refuse("token no longer accepted")
        }
    }
}

extension JWTFilter: CustomStringConvertible {
    /// Never the keys.
    var description: String { "JWTFilter(\(self.verifier.settings.algorithms.joined(separator: ", ")))" }
}
