import Foundation
import NIOCore
import Testing

@testable import RelayGateway

/// RFC 6455 §5.5.1 and §7.4 on live connections: a client's close frame is echoed only when its
/// code may be sent on the wire and its reason is UTF-8; anything else is answered with 1002 (or
/// 1007 for the reason), and the server never puts a reserved or unassigned code on the wire.
/// The whole table of close payloads runs without a socket in `WebSocketTransportTests`.
@Suite struct WebSocketCloseFrameTests {
    static func close(_ code: UInt16?, reason: [UInt8] = []) -> [UInt8] {
        let payload = code.map { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } ?? []
        return HostileClientTests.frame(opcode: 0x8, payload: payload + reason)
    }

    /// One client close of each answer, end to end: echoed, refused with 1002, refused with 1007.
    /// Every case of RFC 6455 §5.5.1 and §7.4 is checked without a socket, in
    /// `WebSocketTransportTests.clientCloseFramesGetTheRightAnswer`.
    static let answers: [(name: String, frame: [UInt8], code: Int)] = [
        ("1001 with a reason", close(1001, reason: Array("bye".utf8)), 1001),
        ("1-byte payload", HostileClientTests.frame(opcode: 0x8, payload: [0x03]), 1002),
        ("invalid UTF-8 reason", close(1000, reason: [0xCE, 0xBA, 0xE1, 0xBD]), 1007),
    ]

    @Test(arguments: answers.map(\.name))
    func clientCloseFramesGetTheRightAnswer(name: String) async throws {
        let (_, frame, expected) = Self.answers.first { $0.name == name }!
        try await RunningGateway.with(yaml: HostileClientTests.yaml) { gateway in
            let socket = try await HostileClientTests.connectRaw(gateway)
            socket.send(frame)
            let answer = await socket.receive(timeout: .seconds(5))
            #expect(HostileClientTests.closeCode(in: answer) == expected, "\(name): got \(answer.prefix(8))")
            try await eventually("\(name): detached") { gateway.gateway.relay.counts.connections == 0 }
            #expect(try await HTTP.get(gateway.url("/health")).status == 200)
        }
    }

    @Test func theRulesAsAUnit() {
        #expect(ClientCloseFrame(payload: ByteBuffer()) == .valid(code: nil))
        #expect(ClientCloseFrame(payload: ByteBuffer(bytes: [0x03, 0xE8, 0x6F, 0x6B])) == .valid(code: 1000))
        for code: UInt16 in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
            #expect(!ClientCloseFrame.isAllowedOnTheWire(code), "\(code)")
        }
        for code: UInt16 in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4000, 4999] {
            #expect(ClientCloseFrame.isAllowedOnTheWire(code), "\(code)")
        }
        // Every code the server itself sends is one the wire allows.
        for code in [1000, 1001, 1002, 1007, 1008, 1009] {
            var frame = ServerFrame.close(code: .init(codeNumber: code), reason: "x")
            frame.moveReaderIndex(forwardBy: 2)
            #expect(ClientCloseFrame.isAllowedOnTheWire(frame.readInteger(as: UInt16.self)!))
        }
    }
}

/// A flood of fragments on a live socket is cut at `WebSocketTransport.maxFragmentsPerMessage`
/// frames and does not hold up other clients on the same event loops. How fragments are assembled,
/// and the cap itself, are checked without a socket in `WebSocketTransportTests`.
@Suite struct FragmentedMessageTests {
    @Test(.heavy) func tooManyFragmentsCloseWith1009AndOthersStayServed() async throws {
        try await RunningGateway.with(yaml: RunningGateway.seedYAML()) { gateway in
            let healthy = try await TestSubscriber.connect(try await gateway.register(userID: 2))
            let socket = try await HostileClientTests.connectRaw(gateway)
            // 400,000 one-byte fragments (2.8 MB): the cap stops them after 1,024.
            let fragment = HostileClientTests.frame(opcode: 0x0, fin: false, payload: [0x61])
            let flood =
                HostileClientTests.frame(opcode: 0x1, fin: false, payload: [0x61])
                + Array(repeatElement(fragment, count: 400_000).joined())
            let sender = Task { await socket.sendAll(flood) }
            let answer = await socket.receive(timeout: .seconds(10), until: "fragments")
            #expect(HostileClientTests.closeCode(in: answer) == 1009, "got \(answer.prefix(8))")
            #expect(String(decoding: answer, as: UTF8.self).contains("more than 1024 fragments"))
            #expect(try await HTTP.get(gateway.url("/health")).status == 200)
            #expect(try await gateway.publish(topic: "cats", message: "still here") == 1)
            #expect(try await healthy.message(1) == "still here")
            try await healthy.close()
            _ = await sender.value
        }
    }
}
