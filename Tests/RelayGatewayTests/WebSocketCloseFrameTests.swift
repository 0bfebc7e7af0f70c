import Foundation
import NIOCore
import Testing

@testable import RelayGateway

/// RFC 6455 §5.5.1 and §7.4 on live connections: a client's close frame is echoed only when its
/// code may be sent on the wire and its reason is UTF-8; anything else is answered with 1002 (or
/// 1007 for the reason), and the server never puts a reserved or unassigned code on the wire.
@Suite struct WebSocketCloseFrameTests {
    static func close(_ code: UInt16?, reason: [UInt8] = []) -> [UInt8] {
        let payload = code.map { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } ?? []
        return HostileClientTests.frame(opcode: 0x8, payload: payload + reason)
    }

    /// What the server answers to each client close: the code it sends back.
    static let answers: [(name: String, frame: [UInt8], code: Int)] = [
        ("1000", close(1000), 1000),
        ("1001 with a reason", close(1001, reason: Array("bye".utf8)), 1001),
        ("1003", close(1003), 1003),
        ("1011", close(1011), 1011),
        ("1012 (registered)", close(1012), 1012),
        ("1014 (registered)", close(1014), 1014),
        ("3000 (libraries)", close(3000), 3000),
        ("4999 (applications)", close(4999), 4999),
        ("empty payload", close(nil), 1000),
        ("1-byte payload", HostileClientTests.frame(opcode: 0x8, payload: [0x03]), 1002),
        ("0", close(0), 1002),
        ("999", close(999), 1002),
        ("1004 (reserved)", close(1004), 1002),
        ("1005 (never on the wire)", close(1005), 1002),
        ("1006 (never on the wire)", close(1006), 1002),
        ("1015 (never on the wire)", close(1015), 1002),
        ("1016 (unassigned)", close(1016), 1002),
        ("2999 (unassigned)", close(2999), 1002),
        ("5000", close(5000), 1002),
        ("65535", close(65535), 1002),
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

/// A message in many frames: assembled in linear time, at most
/// `WebSocketTransport.maxFragmentsPerMessage` frames, and a flood of fragments does not hold
/// up other clients on the same event loops.
@Suite struct FragmentedMessageTests {
    @Test func aMessageInManyFragmentsArrivesWhole() async throws {
        try await RunningGateway.with(yaml: RunningGateway.seedYAML()) { gateway in
            let socket = try await HostileClientTests.connectRaw(gateway)
            let text = Array(#"{"topics": ["dogs"]}"#.utf8)
            var bytes = HostileClientTests.frame(opcode: 0x1, fin: false, payload: [text[0]])
            for (index, byte) in text.enumerated().dropFirst() {
                bytes += HostileClientTests.frame(opcode: 0x0, fin: index == text.count - 1, payload: [byte])
            }
            socket.send(bytes)
            try await eventually("subscribed to dogs") { try await gateway.publish(topic: "dogs", message: "woof") == 1 }
            #expect(String(decoding: await socket.receive(until: "woof"), as: UTF8.self).contains("woof"))
        }
    }

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

    @Test func upToTheCapIsOneMessage() async throws {
        try await RunningGateway.with(yaml: RunningGateway.seedYAML()) { gateway in
            let socket = try await HostileClientTests.connectRaw(gateway)
            let count = WebSocketTransport.maxFragmentsPerMessage
            var bytes = HostileClientTests.frame(opcode: 0x1, fin: false, payload: [])
            for index in 1..<count {
                let last = index == count - 1
                bytes += HostileClientTests.frame(opcode: 0x0, fin: last, payload: last ? Array("ping".utf8) : [])
            }
            socket.send(bytes)
            #expect(String(decoding: await socket.receive(until: "pong"), as: UTF8.self).contains("pong"))
        }
    }
}
