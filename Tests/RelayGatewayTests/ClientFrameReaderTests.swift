import NIOCore
import NIOWebSocket
import Testing

@testable import RelayGateway

/// The WebSocket frame reader on its own: frames cut from bytes however they arrive, and the
/// refusals made before a payload is read.
@Suite struct ClientFrameReaderTests {
    /// A frame as a client sends it: masked with `key` (nil: unmasked), `length` written in the
    /// shortest form unless `lengthBytes` forces one (0, 2 or 8).
    static func frame(
        _ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, key: [UInt8]? = [1, 2, 3, 4], lengthBytes: Int? = nil
    ) -> [UInt8] {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        let mask: UInt8 = key == nil ? 0 : 0x80
        switch lengthBytes ?? (payload.count < 126 ? 0 : payload.count <= 0xFFFF ? 2 : 8) {
        case 0: bytes.append(mask | UInt8(payload.count))
        case 2: bytes += [mask | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default: bytes += [mask | 127] + (0..<8).reversed().map { UInt8((UInt64(payload.count) >> (8 * UInt64($0))) & 0xFF) }
        }
        guard let key else { return bytes + payload }
        return bytes + key + payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
    }

    static func frames(_ bytes: [UInt8], maxPayload: Int = 1 << 16, chunk: Int? = nil) throws -> [WebSocketFrame] {
        var reader = ClientFrameReader(maxPayload: maxPayload)
        var frames: [WebSocketFrame] = []
        for start in stride(from: 0, to: bytes.count, by: chunk ?? max(1, bytes.count)) {
            reader.append(ByteBuffer(bytes: bytes[start..<min(bytes.count, start + (chunk ?? bytes.count))]))
            while let frame = try reader.next() { frames.append(frame) }
        }
        return frames
    }

    @Test func framesAreCutHoweverTheBytesArrive() throws {
        let long = [UInt8](repeating: 0x61, count: 300)
        let huge = [UInt8](repeating: 0x62, count: 70_000)
        let bytes = Self.frame(0x1, Array("ping".utf8)) + Self.frame(0x1, long) + Self.frame(0x2, huge) + Self.frame(0x9, [])
        for chunk in [nil, 1, 7, 4096] {
            let frames = try Self.frames(bytes, maxPayload: 100_000, chunk: chunk)
            #expect(frames.map(\.opcode) == [.text, .text, .binary, .ping], "chunk \(String(describing: chunk))")
            #expect(frames.map { $0.unmaskedData.readableBytes } == [4, 300, 70_000, 0])
            #expect(frames.first.map { String(buffer: $0.unmaskedData) } == "ping")
            #expect(frames.allSatisfy { $0.maskKey != nil && $0.fin })
        }
    }

    @Test func theFrameBitsAreKeptForTheTransportsRules() throws {
        let frames = try Self.frames(Self.frame(0x1, [0x61], fin: false) + Self.frame(0x0, [0x62], key: nil) + [0xC1, 0x80, 1, 2, 3, 4])
        #expect(frames.count == 3)
        #expect(frames[0].fin == false && frames[0].opcode == .text)
        #expect(frames[1].maskKey == nil && frames[1].opcode == .continuation)
        #expect(frames[2].rsv1 && frames[2].opcode == .text)
    }

    @Test func oversizedAndMalformedControlFramesAreRefusedBeforeTheirPayload() {
        // Only the header of a frame too large has arrived: refused at once.
        #expect(throws: ClientFrameReader.Refusal.tooLarge) {
            try Self.frames(Array(Self.frame(0x1, [UInt8](repeating: 0, count: 200)).prefix(8)), maxPayload: 100)
        }
        #expect(throws: ClientFrameReader.Refusal.tooLarge) { try Self.frames([0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0]) }
        #expect(throws: ClientFrameReader.Refusal.fragmentedControlFrame) { try Self.frames(Self.frame(0x9, [], fin: false)) }
        #expect(throws: ClientFrameReader.Refusal.longControlFrame) { try Self.frames(Self.frame(0x9, [UInt8](repeating: 0, count: 126))) }
    }

    @Test func aFrameNotYetWholeIsKeptAndNothingIsKeptBetweenFrames() throws {
        var reader = ClientFrameReader(maxPayload: 1000)
        let bytes = Self.frame(0x1, Array("hello".utf8))
        reader.append(ByteBuffer(bytes: bytes.prefix(3)))
        #expect(try reader.next() == nil)
        reader.append(ByteBuffer(bytes: bytes.dropFirst(3)))
        #expect(try reader.next().map { String(buffer: $0.unmaskedData) } == "hello")
        #expect(try reader.next() == nil)
    }
}
