import Foundation

/// A throwaway CA and server certificates made with openssl when a test runs (no private key is
/// committed): everything a TLS test needs, in a fresh temporary folder.
struct TestCertificates: Sendable {
    let directory: URL
    /// The CA that signed `server`, for `curl --cacert` and `SSL_CERT_FILE`.
    var ca: String { self.path("ca.pem") }
    /// For `localhost` and `127.0.0.1`, valid for a day: the certificate and its key.
    var server: String { self.path("server.pem") }
    var serverKey: String { self.path("server.key") }
    /// Signed by the same CA, expired yesterday; when exactly, as the gateway prints it.
    var expired: String { self.path("expired.pem") }
    let expiredAt: String
    /// A key that belongs to no certificate here.
    var otherKey: String { self.path("other.key") }
    /// `serverKey` encrypted with a passphrase, and in DER.
    var encryptedKey: String { self.path("encrypted.key") }
    var derKey: String { self.path("server.der") }
    /// Base64 SHA-256 of the server key's SubjectPublicKeyInfo (Chromium's
    /// `--ignore-certificate-errors-spki-list`).
    let spki: String

    func path(_ name: String) -> String { self.directory.appendingPathComponent(name).path }

    static func make() async throws -> TestCertificates {
        let openssl = try Prerequisite.program("openssl", install: "apt-get install openssl")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("relay-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        @discardableResult
        func run(_ arguments: [String]) async throws -> String {
            let done = try await Program.run(openssl, arguments, limit: .seconds(30), in: directory)
            guard done.status == 0 else {
                throw Failed(description: "openssl \(arguments.joined(separator: " ")) exited \(done.status): \(done.stderr)")
            }
            return done.stdout
        }
        let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try await run(["req", "-x509"] + curve + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=relay-gateway test CA"])
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(
            to: directory.appendingPathComponent("san.cnf"), atomically: true, encoding: .utf8
        )
        for (name, validity) in [("server", ["-days", "1"]), ("expired", ["-days", "-1"])] {
            try await run(["req"] + curve + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=localhost"])
            try await run(
                [
                    "x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "\(name).pem",
                    "-extfile", "san.cnf",
                ] + validity
            )
        }
        try await run(["genpkey", "-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", "other.key"])
        try await run(["pkey", "-in", "server.key", "-out", "encrypted.key", "-aes256", "-passout", "pass:secret"])
        try await run(["pkey", "-in", "server.key", "-outform", "der", "-out", "server.der"])
        try await run(["pkey", "-in", "server.key", "-pubout", "-outform", "der", "-out", "server.spki"])
        try await run(["dgst", "-sha256", "-binary", "-out", "server.spki.sha256", "server.spki"])
        let digest = try Data(contentsOf: directory.appendingPathComponent("server.spki.sha256"))
        // "notAfter=2026-12-01 01:29:58Z" -> "2026-12-01T01:29:58Z"
        let end = try await run(["x509", "-in", "expired.pem", "-noout", "-enddate", "-dateopt", "iso_8601"])
        let expiredAt = end.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "notAfter=", with: "")
            .replacingOccurrences(of: " ", with: "T")
        return TestCertificates(directory: directory, expiredAt: expiredAt, spki: digest.base64EncodedString())
    }

    struct Failed: Error, CustomStringConvertible {
        let description: String
    }
}
