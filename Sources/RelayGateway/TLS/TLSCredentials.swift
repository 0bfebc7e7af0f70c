// NIOSSL has no setting for the server's cipher order; it is one BoringSSL option on the context.
internal import CNIOBoringSSL
import Foundation
import NIOSSL
import RelayConfig

/// A TLS listener's certificate chain and private key, read and checked when the gateway is
/// built (by `serve` and `check` alike), made into the context its connections use.
///
/// Each problem is a `ConfigError` at the key that named the file: unreadable, not PEM, a key
/// where a certificate belongs (or the other way round), an encrypted key, a key that does not
/// match the certificate. A certificate outside its validity period is a warning: the gateway
/// still starts (clients will refuse it), so a late renewal does not also take the service down.
///
/// The protocol settings are Mozilla's "intermediate" profile: TLS 1.3, and TLS 1.2 with ECDHE
/// key exchange and AEAD suites only (no CBC, no static RSA), in the server's order of preference.
struct TLSCredentials {
    let context: NIOSSLContext
    /// Problems that do not stop the gateway, e.g. an expired certificate.
    let warnings: [ConfigError]

    init(_ tls: ListenerTLS, now: Date = Date()) throws(ConfigError) {
        let chain = try Self.certificates(tls)
        let key = try Self.privateKey(tls)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)
        )
        configuration.minimumTLSVersion =
            switch tls.minVersion {
            case .tls12: .tlsv12
            case .tls13: .tlsv13
            }
        configuration.cipherSuites = Self.intermediateCipherSuites
        configuration.applicationProtocols = ["http/1.1"]
        do {
            self.context = try NIOSSLContext(configuration: configuration)
        } catch {
            // Both files parsed on their own: what is left is that they do not belong together.
            throw tls.keyLocation.error("the key in \(tls.key) does not match the certificate in \(tls.certificate) (\(error))")
        }
        self.warnings = Self.validity(of: chain[0], tls: tls, now: now) + Self.preferServerCipherOrder(in: self.context, tls: tls)
    }

    /// TLS 1.2 suites, the server's first choice first (TLS 1.3 has only AEAD suites, BoringSSL's own).
    static let intermediateCipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    /// Sets BoringSSL's `SSL_OP_CIPHER_SERVER_PREFERENCE` on the context NIOSSL made, before any
    /// connection uses it. NIOSSL keeps its `SSL_CTX` private and offers no such setting, so it is
    /// found by reflection; should a NIOSSL release rename it, the gateway still serves (clients
    /// then choose among the same suites) and says so at start-up (a test checks the order).
    private static func preferServerCipherOrder(in context: NIOSSLContext, tls: ListenerTLS) -> [ConfigError] {
        guard let pointer = Mirror(reflecting: context).children.first(where: { $0.label == "sslContext" })?.value as? OpaquePointer else {
            return [tls.location.error("the TLS library did not let the gateway set its cipher order: clients choose the suite")]
        }
        SSL_CTX_set_options(pointer, UInt32(SSL_OP_CIPHER_SERVER_PREFERENCE))
        return []
    }

    private static func certificates(_ tls: ListenerTLS) throws(ConfigError) -> [NIOSSLCertificate] {
        let text = try Self.read(tls.certificate, at: tls.certificateLocation)
        guard text.contains("-----BEGIN CERTIFICATE-----") else {
            if text.contains("PRIVATE KEY-----") {
                throw tls.certificateLocation.error("\(tls.certificate) holds a private key, not a certificate (is it the key file?)")
            }
            throw tls.certificateLocation.error("\(tls.certificate) is not a PEM certificate (no \"-----BEGIN CERTIFICATE-----\")")
        }
        do {
            let chain = try NIOSSLCertificate.fromPEMBytes(Array(text.utf8))
            guard !chain.isEmpty else { throw NIOSSLError.failedToLoadCertificate }
            return chain
        } catch {
            throw tls.certificateLocation.error("\(tls.certificate) holds a PEM certificate that cannot be parsed (\(error))")
        }
    }

    private static func privateKey(_ tls: ListenerTLS) throws(ConfigError) -> NIOSSLPrivateKey {
        let text = try Self.read(tls.key, at: tls.keyLocation)
        if text.contains("ENCRYPTED PRIVATE KEY-----") || text.contains("Proc-Type: 4,ENCRYPTED") {
            throw tls.keyLocation.error("\(tls.key) is encrypted: give the key without a passphrase (openssl pkey -in KEY -out PLAIN)")
        }
        guard text.contains("PRIVATE KEY-----") else {
            if text.contains("-----BEGIN CERTIFICATE-----") {
                throw tls.keyLocation.error("\(tls.key) holds a certificate, not a private key (is it the certificate file?)")
            }
            throw tls.keyLocation.error("\(tls.key) is not a PEM private key (no \"-----BEGIN ... PRIVATE KEY-----\")")
        }
        do {
            return try NIOSSLPrivateKey(bytes: Array(text.utf8), format: .pem)
        } catch {
            throw tls.keyLocation.error("\(tls.key) holds a PEM private key that cannot be parsed (\(error))")
        }
    }

    /// PEM files bigger than this are refused (a long chain is a few tens of KiB).
    static let maxFileBytes = 1 << 20

    /// The file as text; DER (binary) files are refused here with a hint.
    private static func read(_ path: String, at location: ConfigLocation) throws(ConfigError) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw location.error("cannot read \(path): \(String(cString: strerror(errno)))") }
        let file = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        let data: Data
        do {
            data = try file.read(upToCount: Self.maxFileBytes + 1) ?? Data()
        } catch {
            throw location.error("cannot read \(path): \(error)")
        }
        guard data.count <= Self.maxFileBytes else { throw location.error("\(path) is larger than 1 MiB: not a certificate or key") }
        guard let text = String(data: data, encoding: .utf8), !text.contains("\0") else {
            throw location.error("\(path) is not PEM text (a DER file? convert it with openssl x509 -inform der, or openssl pkey -inform der)")
        }
        return text
    }

    private static func validity(of leaf: NIOSSLCertificate, tls: ListenerTLS, now: Date) -> [ConfigError] {
        let notBefore = Date(timeIntervalSince1970: TimeInterval(leaf.notValidBefore))
        let notAfter = Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter))
        if notAfter < now {
            return [
                tls.certificateLocation.error("the certificate in \(tls.certificate) expired at \(Self.format(notAfter)): clients will refuse it")
            ]
        }
        if notBefore > now {
            return [
                tls.certificateLocation.error(
                    "the certificate in \(tls.certificate) is not valid before \(Self.format(notBefore)): clients will refuse it")
            ]
        }
        return []
    }

    private static func format(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
