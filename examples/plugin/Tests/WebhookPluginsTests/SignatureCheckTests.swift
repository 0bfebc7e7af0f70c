import NIOCore
import Testing

@testable import WebhookPlugins

/// The signing scheme and the check, without a gateway.
@Suite struct SignatureCheckTests {
    static let secret = "It's a Secret to Everybody"
    static let body = ByteBuffer(string: #"{"action":"opened"}"#)
    /// `printf '%s.%s' 1700000000 '{"action":"opened"}' | openssl dgst -sha256 -hmac "It's a Secret to Everybody"`
    static let knownSignature = "sha256=9891a2f9780e5f8bc3c1bce67b4d736af7b2eb11f2d41def7e5b5ebc5be2ce36"

    let check = SignatureCheck(
        signature: WebhookSignature(secret: Self.secret), signatureHeader: "X-Signature", timestampHeader: "X-Timestamp",
        windowSeconds: 300
    )

    @Test func signsAsOpenSSLDoes() {
        #expect(WebhookSignature(secret: Self.secret).sign(timestamp: "1700000000", body: Self.body) == Self.knownSignature)
    }

    @Test func acceptsTheKnownSignatureInEitherLetterCaseWithinTheWindow() throws {
        for now: Int64 in [1_700_000_000, 1_700_000_300, 1_699_999_700] {
            try check.verify(signatureValue: Self.knownSignature, timestampValue: "1700000000", body: Self.body, now: now)
        }
        let upper = "sha256=" + Self.knownSignature.dropFirst(7).uppercased()
        try check.verify(signatureValue: upper, timestampValue: "1700000000", body: Self.body, now: 1_700_000_000)
    }

    @Test func refusesAnyChangeToBodyTimestampOrSecret() {
        let other = SignatureCheck(
            signature: WebhookSignature(secret: "another secret"), signatureHeader: "X-Signature", timestampHeader: "X-Timestamp",
            windowSeconds: 300
        )
        #expect(throws: SignatureRefusal.mismatch) {
            try check.verify(
                signatureValue: Self.knownSignature, timestampValue: "1700000000", body: ByteBuffer(string: #"{"action":"closed"}"#),
                now: 1_700_000_000)
        }
        #expect(throws: SignatureRefusal.mismatch) {
            try check.verify(signatureValue: Self.knownSignature, timestampValue: "1700000001", body: Self.body, now: 1_700_000_000)
        }
        #expect(throws: SignatureRefusal.mismatch) {
            try other.verify(signatureValue: Self.knownSignature, timestampValue: "1700000000", body: Self.body, now: 1_700_000_000)
        }
        var flipped = Array(Self.knownSignature.utf8)
        flipped[flipped.count - 1] = UInt8(ascii: "7")
        #expect(throws: SignatureRefusal.mismatch) {
            try check.verify(
                signatureValue: String(decoding: flipped, as: UTF8.self), timestampValue: "1700000000", body: Self.body, now: 1_700_000_000)
        }
    }

    @Test func refusesATimestampOneSecondOutsideTheWindowEitherWay() {
        for now: Int64 in [1_700_000_301, 1_699_999_699] {
            #expect(throws: SignatureRefusal.outsideWindow(windowSeconds: 300)) {
                try check.verify(signatureValue: Self.knownSignature, timestampValue: "1700000000", body: Self.body, now: now)
            }
        }
        #expect(SignatureRefusal.outsideWindow(windowSeconds: 300).description == "timestamp outside the 300 s window")
    }

    @Test func refusesGarbledHeadersNamingTheHeader() {
        let garbled: [(signature: String, timestamp: String, header: String)] = [
            ("sha1=9891a2f9780e5f8bc3c1bce67b4d736af7b2eb11f2d41def7e5b5ebc5be2ce36", "1700000000", "X-Signature"),
            ("sha256=9891a2f9", "1700000000", "X-Signature"),
            ("sha256=zz91a2f9780e5f8bc3c1bce67b4d736af7b2eb11f2d41def7e5b5ebc5be2ce36", "1700000000", "X-Signature"),
            ("9891a2f9780e5f8bc3c1bce67b4d736af7b2eb11f2d41def7e5b5ebc5be2ce36", "1700000000", "X-Signature"),
            (Self.knownSignature, "-1700000000", "X-Timestamp"),
            (Self.knownSignature, "1700000000.5", "X-Timestamp"),
            (Self.knownSignature, " 1700000000", "X-Timestamp"),
            (Self.knownSignature, "99999999999999999999", "X-Timestamp"),
        ]
        for (signature, timestamp, header) in garbled {
            let refusal = #expect(throws: SignatureRefusal.self, "\(signature) at \(timestamp)") {
                try check.verify(signatureValue: signature, timestampValue: timestamp, body: Self.body, now: 1_700_000_000)
            }
            guard case .malformed(let named, _)? = refusal else {
                Issue.record("\(signature) at \(timestamp): \(String(describing: refusal)), not malformed")
                continue
            }
            #expect(named == header)
        }
    }

    @Test func refusesMissingHeadersNamingThem() {
        #expect(throws: SignatureRefusal.missing(header: "X-Signature")) {
            try check.verify(signatureValue: nil, timestampValue: "1700000000", body: Self.body, now: 1_700_000_000)
        }
        #expect(throws: SignatureRefusal.missing(header: "X-Timestamp")) {
            try check.verify(signatureValue: Self.knownSignature, timestampValue: nil, body: Self.body, now: 1_700_000_000)
        }
    }

    @Test func aSignaturePrintsNoSecret() {
        #expect("\(WebhookSignature(secret: Self.secret))" == "WebhookSignature(HMAC-SHA256)")
    }
}
