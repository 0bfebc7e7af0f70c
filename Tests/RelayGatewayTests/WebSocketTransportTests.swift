import NIOCore
import NIOWebSocket
import Testing

@testable import RelayGateway

/// RFC 6455 on a subscriber's WebSocket, without a socket: the client's frames go through the
/// frame decoder the engine installs and the real transport and connection, on an
/// `EmbeddedChannel` (``EmbeddedSubscriber``). A client that breaks a rule gets the close code the
/// RFC gives, is detached at once, and nothing it sends afterwards is acted on.
@Suite struct WebSocketTransportTests {
    /// `max_message_bytes: 1KiB`, as the live hostile-client tests.
    static func relay() -> EmbeddedRelay {
        EmbeddedRelay(settings: EmbeddedRelay.settings { $0.maxMessageBytes = 1024 })
    }

    static func frame(opcode: UInt8, fin: Bool = true, rsv: UInt8 = 0, masked: Bool = true, payload: [UInt8]) -> [UInt8] {
        HostileClientTests.frame(opcode: opcode, fin: fin, rsv: rsv, masked: masked, payload: payload)
    }

    /// Frames no client may send, by name, with the close code and reason each must get.
    static let violations: [String: (bytes: [UInt8], code: Int, reason: String)] = [
        "unmasked frame": (frame(opcode: 0x1, masked: false, payload: Array("ping".utf8)), 1002, "client frames must be masked"),
        "reserved bit 1": (frame(opcode: 0x1, rsv: 0x40, payload: Array("ping".utf8)), 1002, "reserved bits set without an extension"),
        "reserved bit 2": (frame(opcode: 0x1, rsv: 0x20, payload: Array("ping".utf8)), 1002, "reserved bits set without an extension"),
        "reserved bit 3": (frame(opcode: 0x1, rsv: 0x10, payload: Array("ping".utf8)), 1002, "reserved bits set without an extension"),
        "unknown data opcode": (frame(opcode: 0x3, payload: [1]), 1002, "unknown opcode"),
        "unknown control opcode": (frame(opcode: 0xB, payload: [1]), 1002, "unknown opcode"),
        "fragmented ping": (frame(opcode: 0x9, fin: false, payload: [1]), 1002, "control frames must not be fragmented"),
        "ping over 125 bytes": (
            frame(opcode: 0x9, payload: [UInt8](repeating: 1, count: 126)), 1002, "control frames carry at most 125 bytes"
        ),
        "stray continuation": (frame(opcode: 0x0, payload: [1]), 1002, "continuation frame without a message"),
        "a new message before the last ended": (
            frame(opcode: 0x1, fin: false, payload: Array("pi".utf8)) + frame(opcode: 0x1, payload: Array("ng".utf8)), 1002,
            "a new message started before the previous one ended"
        ),
        "a binary message inside a text one": (
            frame(opcode: 0x1, fin: false, payload: Array("pi".utf8)) + frame(opcode: 0x2, payload: [1]), 1002,
            "a new message started before the previous one ended"
        ),
        "invalid UTF-8": (frame(opcode: 0x1, payload: [0xFF, 0xFE, 0xFD]), 1007, "invalid UTF-8 in text frame"),
        "invalid UTF-8 across fragments": (
            frame(opcode: 0x1, fin: false, payload: [0xCE]) + frame(opcode: 0x0, payload: [0x41]), 1007, "invalid UTF-8 in text frame"
        ),
        "oversized frame": (frame(opcode: 0x1, payload: [UInt8](repeating: 0x61, count: 2000)), 1009, "frame larger than the message limit"),
        "oversized fragments": (
            frame(opcode: 0x1, fin: false, payload: [UInt8](repeating: 0x61, count: 800))
                + frame(opcode: 0x0, payload: [UInt8](repeating: 0x61, count: 800)),
            1009, "message too large"
        ),
        "too many fragments": (
            frame(opcode: 0x1, fin: false, payload: [])
                + Array(repeatElement(frame(opcode: 0x0, fin: false, payload: []), count: WebSocketTransport.maxFragmentsPerMessage).joined()),
            1009, "more than 1024 fragments in one message"
        ),
    ]

    @Test(arguments: violations.keys.sorted())
    func protocolViolationsFailTheConnectionWithTheRightCode(name: String) throws {
        let (bytes, code, reason) = Self.violations[name]!
        let relay = Self.relay()
        let healthy = try relay.subscribe(relay.relay.register(userID: 2).id)
        let subscriber = try relay.subscribe()
        #expect(relay.relay.counts.connections == 2)
        try subscriber.send(bytes)
        let frames = try subscriber.frames()
        #expect(frames.count == 1, "\(name): \(frames)")
        #expect(frames.first?.closeCode == code, "\(name): \(frames)")
        #expect(frames.first?.closeReason == reason, "\(name)")
        #expect(relay.relay.counts.connections == 1, "\(name): detached at once")
        #expect(relay.publish("still here") == 1)
        #expect(try healthy.texts() == ["still here"], "\(name): the others stay served")

        // Nothing it sends afterwards is decoded or acted on: no pong, no pong frame, no new topics.
        try subscriber.send(Self.frame(opcode: 0x1, payload: Array("ping".utf8)))
        try subscriber.send(Self.frame(opcode: 0x9, payload: [7]))
        try subscriber.send(Self.frame(opcode: 0x1, payload: Array(#"{"topics": ["dogs"]}"#.utf8)))
        try subscriber.send([0xFF, 0x00, 0x13])
        #expect(try subscriber.received().isEmpty, "\(name)")
        #expect(relay.relay.registration(subscriber.clientID)?.topics == ["cats"])

        // The server waits for the client's close frame (RFC 6455 §7.1.1), then drops a silent client.
        #expect(!subscriber.isClosed)
        subscriber.advance(by: SubscriberConnection.closeTimeout)
        #expect(subscriber.isClosed, "\(name): dropped after the close timeout")
    }

    static func close(_ code: UInt16?, reason: [UInt8] = []) -> [UInt8] {
        let payload = code.map { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } ?? []
        return Self.frame(opcode: 0x8, payload: payload + reason)
    }

    /// RFC 6455 §5.5.1 and §7.4: what the server answers to each client close (the code it sends
    /// back): the client's own code when the wire allows it and its reason is UTF-8, 1000 for an
    /// empty close, else 1002 (1007 for the reason).
    static let closeAnswers: [(name: String, frame: [UInt8], code: Int)] = [
        ("1000", close(1000), 1000),
        ("1001 with a reason", close(1001, reason: Array("bye".utf8)), 1001),
        ("1002", close(1002), 1002),
        ("1003", close(1003), 1003),
        ("1007", close(1007), 1007),
        ("1008", close(1008), 1008),
        ("1009", close(1009), 1009),
        ("1010", close(1010), 1010),
        ("1011", close(1011), 1011),
        ("1012 (registered)", close(1012), 1012),
        ("1013 (registered)", close(1013), 1013),
        ("1014 (registered)", close(1014), 1014),
        ("3000 (libraries)", close(3000), 3000),
        ("4000 (applications)", close(4000), 4000),
        ("4999 (applications)", close(4999), 4999),
        ("a UTF-8 reason", close(1000, reason: Array("κόσμε".utf8)), 1000),
        ("empty payload", close(nil), 1000),
        ("1-byte payload", Self.frame(opcode: 0x8, payload: [0x03]), 1002),
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

    @Test(arguments: closeAnswers.map(\.name))
    func clientCloseFramesGetTheRightAnswer(name: String) throws {
        let (_, frame, expected) = Self.closeAnswers.first { $0.name == name }!
        let relay = Self.relay()
        let subscriber = try relay.subscribe()
        try subscriber.send(frame)
        let frames = try subscriber.frames()
        #expect(frames.count == 1, "\(name): \(frames)")
        #expect(frames.first?.closeCode == expected, "\(name): \(frames)")
        #expect(relay.relay.counts.connections == 0, "\(name): detached")
        #expect(relay.relay.counts.registrations == 1, "\(name): the registration stays")
        if frames.first?.closeReason.isEmpty == false {
            // A refused close (its reason says why) fails the connection: the server waits for the
            // client's close, then drops it.
            #expect(expected == 1002 || expected == 1007, "\(name)")
            #expect(!subscriber.isClosed, "\(name)")
            subscriber.advance(by: SubscriberConnection.closeTimeout)
        }
        #expect(subscriber.isClosed, "\(name): closed")
    }

    /// The server's answer to a valid close is the closing handshake's end: one frame, then the channel closes.
    @Test func aValidCloseIsEchoedThenTheChannelCloses() throws {
        let relay = Self.relay()
        let subscriber = try relay.subscribe()
        try subscriber.send(Self.close(4001, reason: Array("done".utf8)))
        let frames = try subscriber.frames()
        #expect(frames == [WebSocketServerFrame(fin: true, opcode: .connectionClose, payload: [0x0F, 0xA1])])
        #expect(subscriber.isClosed)
    }

    @Test func pingsAreAnsweredWithTheirPayloadAndPongsIgnored() throws {
        let relay = Self.relay()
        let subscriber = try relay.subscribe()
        try subscriber.send(Self.frame(opcode: 0x9, payload: [1, 2, 3]))
        try subscriber.send(Self.frame(opcode: 0x9, payload: []))
        try subscriber.send(Self.frame(opcode: 0x9, payload: [UInt8](repeating: 9, count: 125)))
        try subscriber.send(Self.frame(opcode: 0xA, payload: [4]))
        #expect(
            try subscriber.frames() == [
                WebSocketServerFrame(fin: true, opcode: .pong, payload: [1, 2, 3]),
                WebSocketServerFrame(fin: true, opcode: .pong, payload: []),
                WebSocketServerFrame(fin: true, opcode: .pong, payload: [UInt8](repeating: 9, count: 125)),
            ]
        )
        #expect(!subscriber.isClosed)
    }

    /// A control frame may come between the fragments of a message (RFC 6455 §5.4).
    @Test func aPingBetweenFragmentsIsAnsweredAndTheMessageStillArrives() throws {
        let relay = Self.relay()
        let subscriber = try relay.subscribe()
        try subscriber.send(
            Self.frame(opcode: 0x1, fin: false, payload: Array("pi".utf8)) + Self.frame(opcode: 0x9, payload: [5])
                + Self.frame(opcode: 0x0, payload: Array("ng".utf8))
        )
        let frames = try subscriber.frames()
        #expect(frames.map(\.opcode) == [.pong, .text])
        #expect(frames.last?.text == "pong")
    }

    @Test func binaryMessagesGetAJSONErrorAndTheConnectionStays() throws {
        let relay = Self.relay()
        let subscriber = try relay.subscribe()
        try subscriber.send(Self.frame(opcode: 0x2, payload: [1, 2, 3]))
        try subscriber.send(Self.frame(opcode: 0x2, fin: false, payload: [1]) + Self.frame(opcode: 0x0, payload: [2]))
        try subscriber.send(text: "ping")
        #expect(
            try subscriber.texts() == [
                #"{"error":"binary frames are not supported; send text"}"#, #"{"error":"binary frames are not supported; send text"}"#, "pong",
            ]
        )
        #expect(relay.publish("still here") == 1)
    }

    @Test func aMessageInManyFragmentsArrivesWhole() throws {
        let relay = Self.relay()
        let subscriber = try relay.subscribe()
        let text = Array(#"{"topics": ["dogs"]}"#.utf8)
        var bytes = Self.frame(opcode: 0x1, fin: false, payload: [text[0]])
        for (index, byte) in text.enumerated().dropFirst() {
            bytes += Self.frame(opcode: 0x0, fin: index == text.count - 1, payload: [byte])
        }
        // In pieces that split frames, as TCP may deliver them.
        for piece in stride(from: 0, to: bytes.count, by: 5) {
            try subscriber.send(Array(bytes[piece..<min(piece + 5, bytes.count)]))
        }
        #expect(relay.relay.registration(subscriber.clientID)?.topics == ["dogs"])
        #expect(relay.publish(topic: "dogs", "woof") == 1)
        #expect(try subscriber.texts() == ["woof"])
    }

    @Test func upToTheCapIsOneMessage() throws {
        let relay = Self.relay()
        let subscriber = try relay.subscribe()
        let count = WebSocketTransport.maxFragmentsPerMessage
        var bytes = Self.frame(opcode: 0x1, fin: false, payload: [])
        for index in 1..<count {
            let last = index == count - 1
            bytes += Self.frame(opcode: 0x0, fin: last, payload: last ? Array("ping".utf8) : [])
        }
        try subscriber.send(bytes)
        #expect(try subscriber.texts() == ["pong"])
        // The count starts again with the next message.
        try subscriber.send(bytes)
        #expect(try subscriber.texts() == ["pong"])
    }

    @Test func aMessageOfExactlyTheLimitIsReadAndOneByteMoreIsNot() throws {
        let relay = Self.relay()
        let subscriber = try relay.subscribe()
        let limit = "ping" + String(repeating: " ", count: 1020)
        try subscriber.send(text: limit)
        #expect(try subscriber.texts() == ["pong"])
        try subscriber.send(
            Self.frame(opcode: 0x1, fin: false, payload: Array(limit.utf8.prefix(1000)))
                + Self.frame(opcode: 0x0, payload: Array(repeating: 0x20, count: 25))
        )
        #expect(try subscriber.frames().first?.closeCode == 1009)
    }
}
