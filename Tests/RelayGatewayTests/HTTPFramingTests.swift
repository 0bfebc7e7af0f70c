import Foundation
import Testing

@testable import RelayGateway

/// RFC 9112 on the wire, from a raw socket: every framing error gets exactly one answer (400, or
/// 431 for an oversized head) with a JSON body and `Connection: close`, and the connection closes
/// at once, not at the handshake timeout; `Connection: close`, HTTP/1.0 and pipelining behave as
/// the RFC says; and the server keeps serving everyone else.
@Suite(.timed) struct HTTPFramingTests {
    static let yaml = RunningGateway.seedYAML(relay: "relay: {max_message_bytes: 1KiB}")

    /// Everything the server sends until it closes, and how long that took.
    static func exchange(_ bytes: [UInt8], port: Int, halfClose: Bool = false) async throws -> (answer: String, took: Duration) {
        let socket = try RawSocket(port: port)
        let start = ContinuousClock.now
        await socket.sendAll(bytes)
        if halfClose { shutdown(socket.descriptor, Int32(SHUT_WR)) }
        let received = await socket.receive(timeout: .seconds(8))
        return (String(decoding: received, as: UTF8.self), ContinuousClock.now - start)
    }

    static func answers(in text: String) -> [Int] {
        text.matches(of: #/HTTP/1\.[01] (\d{3}) /#).compactMap { Int($0.1) }
    }

    /// Every framing error is checked without a socket (`RelayHTTPTests`'
    /// `EmbeddedConnectionTests`); these two, one of each answer, also run on the wire, with
    /// another client served meanwhile.
    static let malformed: [(name: String, request: String, status: Int)] = [
        ("two different Content-Lengths", "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400),
        ("a 1 MB header field", "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 1_000_000) + "\r\n\r\n", 431),
    ]

    @Test(arguments: malformed.map(\.name))
    func malformedRequestsGetOneAnswerAndAClose(name: String) async throws {
        let (_, request, status) = Self.malformed.first { $0.name == name }!
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let (answer, took) = try await Self.exchange(Array(request.utf8), port: gateway.port)
            #expect(Self.answers(in: answer) == [status], "\(name): \(answer.prefix(300))")
            #expect(answer.lowercased().contains("connection: close"), "\(name): \(answer.prefix(300))")
            #expect(answer.contains(#"{"error":""#), "\(name): \(answer.prefix(300))")
            #expect(took < .seconds(5), "\(name): the connection closed at once, not at a timeout (took \(took))")
            #expect(try await HTTP.get(gateway.url("/health")).status == 200)
        }
    }

    /// A keep-alive client that closes its side after an answer: the server closes too, at once
    /// (not at the handshake timeout, which also held up a graceful shutdown by as long).
    @Test func aClientThatClosesAfterItsAnswerIsClosedAtOnce() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let socket = try RawSocket(port: gateway.port)
            socket.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            let answer = String(decoding: await socket.receive(timeout: .seconds(5), until: #""status":"ok"}"#), as: UTF8.self)
            #expect(Self.answers(in: answer) == [200], "\(answer)")
            let start = ContinuousClock.now
            shutdown(socket.descriptor, Int32(SHUT_WR))
            let rest = await socket.receive(timeout: .seconds(8))
            #expect(rest.isEmpty)
            #expect(ContinuousClock.now - start < .seconds(2), "closed at once, not at a timeout")
        }
    }

    @Test func aBodyCutShortGetsOne400AndNo500() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let request = "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n{\"topic\": \"cats\""
            let (answer, took) = try await Self.exchange(Array(request.utf8), port: gateway.port, halfClose: true)
            #expect(Self.answers(in: answer) == [400], "\(answer)")
            #expect(took < .seconds(5))
            let chunked = "POST /publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc"
            let (chunkedAnswer, _) = try await Self.exchange(Array(chunked.utf8), port: gateway.port, halfClose: true)
            #expect(Self.answers(in: chunkedAnswer) == [400], "\(chunkedAnswer)")
        }
    }

    @Test(arguments: ["close", "CLOSE", "Close", "keep-alive, close", "upgrade,CLOSE"])
    func connectionCloseEndsTheConnectionAfterItsAnswer(value: String) async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            // A second request pipelined behind it is never run.
            let request =
                "GET /health HTTP/1.1\r\nHost: x\r\nConnection: \(value)\r\n\r\n"
                + "POST /register HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\n\r\n{\"user_id\": 1}"
            let (answer, took) = try await Self.exchange(Array(request.utf8), port: gateway.port)
            #expect(Self.answers(in: answer) == [200], "\(answer)")
            #expect(answer.contains(#""status":"ok""#))
            #expect(answer.lowercased().contains("connection: close"))
            #expect(took < .seconds(5))
            #expect(gateway.gateway.relay.counts.registrations == 0, "the pipelined register never ran")
        }
    }

    @Test func http10ClosesUnlessKeepAliveWasAsked() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let (plain, took) = try await Self.exchange(Array("GET /health HTTP/1.0\r\n\r\n".utf8), port: gateway.port)
            #expect(Self.answers(in: plain) == [200], "\(plain)")
            #expect(plain.hasPrefix("HTTP/1.0 200"))
            // RFC 9110 §6.6.1: every answer is dated, in IMF-fixdate.
            #expect(
                plain.contains(
                    #/\r\nDate: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT\r\n/#),
                "\(plain)")
            #expect(took < .seconds(5), "closed after the answer")

            let socket = try RawSocket(port: gateway.port)
            socket.send("GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let first = String(decoding: await socket.receive(until: "\"status\":\"ok\"}"), as: UTF8.self)
            #expect(first.lowercased().contains("connection: keep-alive"), "\(first)")
            socket.send("GET /health HTTP/1.0\r\n\r\n")
            let second = String(decoding: await socket.receive(timeout: .seconds(5)), as: UTF8.self)
            #expect(Self.answers(in: second) == [200], "the kept connection served a second request: \(second)")
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let request =
                "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
                + "POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
                + "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            let (answer, _) = try await Self.exchange(Array(request.utf8), port: gateway.port)
            #expect(Self.answers(in: answer) == [200, 404, 405, 200], "\(answer)")
        }
    }

    @Test func targetsInAbsoluteFormAndPathsTheRouterNormalises() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            for target in ["http://relay.example/health", "/health/", "//health", "/health?x=1"] {
                let (answer, _) = try await Self.exchange(
                    Array("GET \(target) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), port: gateway.port)
                #expect(Self.answers(in: answer) == [200], "\(target): \(answer.prefix(200))")
            }
            for target in ["/health/x", "/*", "/h*", "/healt"] {
                let (answer, _) = try await Self.exchange(
                    Array("GET \(target) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), port: gateway.port)
                #expect(Self.answers(in: answer) == [404], "\(target): \(answer.prefix(200))")
            }
        }
    }

    @Test func expectContinueIsAnsweredAndOtherExpectationsFail() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let socket = try RawSocket(port: gateway.port)
            socket.send("POST /register HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\nExpect: 100-continue\r\n\r\n")
            let interim = String(decoding: await socket.receive(until: "\r\n\r\n"), as: UTF8.self)
            #expect(interim.hasPrefix("HTTP/1.1 100 Continue"), "\(interim)")
            socket.send("{\"user_id\": 1}")
            let final = String(decoding: await socket.receive(until: "\"}"), as: UTF8.self)
            #expect(final.hasPrefix("HTTP/1.1 200"), "\(final)")

            let (refused, _) = try await Self.exchange(
                Array("POST /register HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\nExpect: 200-ok\r\n\r\n{\"user_id\": 1}".utf8), port: gateway.port
            )
            #expect(Self.answers(in: refused) == [417], "\(refused)")
        }
    }

    @Test func aDeclaredBodyOverTheLimitIsRefusedUnread() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let (answer, took) = try await Self.exchange(
                Array("POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n{".utf8), port: gateway.port
            )
            #expect(Self.answers(in: answer) == [413], "\(answer)")
            #expect(answer.contains("at most 1024"))
            #expect(took < .seconds(5))
            // Chunked, it is counted as it arrives.
            let chunk = String(repeating: "a", count: 600)
            let chunked = "POST /publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n\(chunk)\r\n258\r\n\(chunk)\r\n0\r\n\r\n"
            let (chunkedAnswer, _) = try await Self.exchange(Array(chunked.utf8), port: gateway.port)
            #expect(Self.answers(in: chunkedAnswer) == [413], "\(chunkedAnswer)")
        }
    }

    /// Chunk extensions and the rest of a chunked body's framing count against the body limit
    /// (RFC 9112 §7.1.1): one chunk carrying 64 KiB of extensions (64 times the 1 KiB limit) is
    /// refused with 413 and nothing is published. A chunked body whose framing stays within the
    /// limit is read as before.
    @Test func chunkExtensionsCountAgainstTheBodyLimit() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let body = #"{"topic": "cats", "message": "x"}"#
            let extensions = String(repeating: ";ext=\"" + String(repeating: "a", count: 1000) + "\"", count: 64)
            let request =
                "POST /publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + String(body.utf8.count, radix: 16) + extensions + "\r\n" + body + "\r\n0\r\n\r\n"
            let (answer, _) = try await Self.exchange(Array(request.utf8), port: gateway.port)
            #expect(Self.answers(in: answer) == [413], "\(answer.prefix(300))")
            #expect(answer.contains("with its framing"), "\(answer.prefix(300))")
            #expect(gateway.gateway.metrics.totals.publishes == 0, "nothing was published")

            let small =
                "POST /publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + String(body.utf8.count, radix: 16) + ";name=value\r\n" + body + "\r\n0\r\n\r\n"
            let socket = try RawSocket(port: gateway.port)
            socket.send(small)
            let accepted = String(decoding: await socket.receive(timeout: .seconds(5), until: "}"), as: UTF8.self)
            #expect(Self.answers(in: accepted) == [200], "\(accepted)")
        }
    }

    /// A trailer field is no header (RFC 9110 §6.5.1). A `Connection: close` there used to leave
    /// the connection open with a parser that refused the next, valid request (400): now the
    /// first answer says `Connection: close` and the connection closes cleanly after it.
    @Test func connectionCloseInATrailerEndsTheConnectionCleanly() async throws {
        try await RunningGateway.with(yaml: Self.yaml) { gateway in
            let body = #"{"topic": "cats", "message": "x"}"#
            let requests =
                "POST /publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + String(body.utf8.count, radix: 16) + "\r\n" + body + "\r\n0\r\nConnection: close\r\n\r\n"
                + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
            let (answer, took) = try await Self.exchange(Array(requests.utf8), port: gateway.port)
            #expect(Self.answers(in: answer) == [200], "one answer, no 400: \(answer)")
            #expect(answer.contains("Connection: close\r\n") && answer.hasSuffix(#"{"recipients":0}"#), "\(answer)")
            #expect(took < .seconds(5), "closed at once (took \(took))")
            #expect(try await HTTP.get(gateway.url("/health")).status == 200, "others are still served")
        }
    }
}
