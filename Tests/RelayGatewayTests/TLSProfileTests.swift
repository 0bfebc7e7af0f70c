import Foundation
import Testing

/// What a TLS listener offers (Mozilla's "intermediate" profile, in the server's order, checked
/// with `openssl s_client`) and how it lets go of connections it closes (a Python client that
/// answers the server's close_notify, as browsers and curl do).
@Suite(.timed) struct TLSProfileTests {
    static func handshake(_ port: Int, _ arguments: [String]) async throws -> Program.Finished {
        let openssl = try Prerequisite.program("openssl", install: "apt-get install openssl")
        return try await Program.run(
            openssl, ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost", "-brief"] + arguments, stdin: ""
        )
    }

    @Test func cbcAndStaticRSASuitesAreRefusedAndTheServerPicksTheSuite() async throws {
        let certificates = try await TestCertificates.make()
        try await RunningGateway.with(yaml: TLSListenerTests.yaml(certificates)) { gateway in
            // testssl.sh's findings: CBC suites (LUCKY13), and RSA key exchange without forward secrecy.
            for suite in ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA256", "AES128-GCM-SHA256", "AES128-SHA"] {
                let refused = try await Self.handshake(gateway.port, ["-tls1_2", "-cipher", suite])
                #expect(refused.status != 0, "\(suite) was accepted: \(refused.stderr)")
                #expect(!refused.stderr.contains("Ciphersuite: \(suite)"), "\(refused.stderr)")
            }
            // The client prefers ChaCha20; the server's first choice, AES-128-GCM, wins.
            let chosen = try await Self.handshake(
                gateway.port, ["-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256"])
            #expect(chosen.status == 0, "\(chosen.stderr)")
            #expect(chosen.stderr.contains("Ciphersuite: ECDHE-ECDSA-AES128-GCM-SHA256"), "the server's order: \(chosen.stderr)")
            let modern = try await Self.handshake(gateway.port, ["-tls1_3"])
            #expect(modern.status == 0 && modern.stderr.contains("Protocol version: TLSv1.3"), "\(modern.stderr)")
        }
    }

    /// 100 requests with `Connection: close`, each client reading the answer and the server's
    /// close_notify, answering with its own and closing: the server lets go of every one at once
    /// (NIOSSL used to hold each in CLOSE-WAIT for its 5 s shutdown timeout), and SIGTERM right
    /// after is as quick as with no TLS connection ever made.
    @Test func connectionsTheServerClosesAreReleasedAtOnce() async throws {
        let python = try Prerequisite.program("python3", install: "apt-get install python3")
        let certificates = try await TestCertificates.make()
        let file = certificates.path("listener.yaml")
        try TLSListenerTests.yaml(certificates).write(toFile: file, atomically: true, encoding: .utf8)
        let server = try Running(Program.gateway, ["serve", "--config", file])
        defer { server.signal(SIGKILL) }
        let port = try await server.awaitListening()
        let pid = server.process.processIdentifier
        @Sendable func sockets() -> Int {
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
            return fds.filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)"))?.hasPrefix("socket:") == true }
                .count
        }
        let before = sockets()
        let client = """
            import socket, ssl, sys
            context = ssl.create_default_context(cafile=sys.argv[2])
            for _ in range(100):
                tls = context.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="localhost")
                tls.sendall(b"GET /health HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n")
                answer = b""
                while chunk := tls.recv(65536):  # b"" once the server's close_notify arrives
                    answer += chunk
                assert answer.startswith(b"HTTP/1.1 200 OK\\r\\n") and b"Connection: close\\r\\n" in answer, answer
                tls.unwrap().close()  # our close_notify, then the socket
            print("done")
            """
        let run = try await Program.run(python, ["-c", client, String(port), certificates.ca], limit: .seconds(60))
        #expect(run.stdout == "done\n", "\(run.stderr)")
        try await eventually("the server holds no more sockets than before (\(before)) within 1.5 s", within: .milliseconds(1500)) {
            sockets() <= before
        }
        let stopping = ContinuousClock.now
        server.signal(SIGTERM)
        let stopped = try await server.finish(within: .seconds(10))
        #expect(stopped.status == 0)
        #expect(ContinuousClock.now - stopping < .seconds(1), "SIGTERM waited for lingering TLS connections")
    }
}
