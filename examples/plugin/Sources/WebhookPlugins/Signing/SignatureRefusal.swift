/// Why a signed request was refused: the text its 401 answer carries, and the `reason` label it
/// is counted under. No case ever holds the secret or the expected signature.
public enum SignatureRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    /// The header is absent.
    case missing(header: String)
    /// The header is there but not in the form `expected`.
    case malformed(header: String, expected: String)
    /// The timestamp is further than `windowSeconds` from now, in either direction.
    case outsideWindow(windowSeconds: Int64)
    /// Well-formed, in time, but signed with another secret or over another body.
    case mismatch

    /// The client's message.
    public var description: String {
        switch self {
        case .missing(let header): "missing \(header) header"
        case .malformed(let header, let expected): "malformed \(header) header: expected \(expected)"
        case .outsideWindow(let seconds): "timestamp outside the \(seconds) s window"
        case .mismatch: "signature does not match"
        }
    }

    /// The `reason` label of `hmac_signature_refused_total`.
    public var reason: Reason {
        switch self {
        case .missing: .missing
        case .malformed: .malformed
        case .outsideWindow: .stale
        case .mismatch: .mismatch
        }
    }

    /// Refusals as counted.
    public enum Reason: String, CaseIterable, Sendable {
        case missing, malformed, stale, mismatch
    }
}
