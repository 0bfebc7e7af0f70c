import NIOCore
import NIOWebSocket

@testable import RelayGateway

/// Bytes a client sends on a WebSocket: the gateway's frame reader cuts them into frames (in one
/// read, or split in two at a point the first byte picks), and every frame goes to the gateway's
/// own readers, the close-frame rules and the command parser.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientFrames(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: start, count: count)
    let split = count > 1 ? Int(bytes[0]) % count : count
    var reader = ClientFrameReader(maxPayload: 1 << 16)
    var frames = 0
    for part in [bytes[0..<split], bytes[split...]] where !part.isEmpty {
        reader.append(ByteBuffer(bytes: part))
        while let frame = try? reader.next() {
            frames += 1
            precondition(frames <= count / 2 + 1, "more frames than two bytes each")
            precondition(frame.data.readableBytes <= 1 << 16, "a payload over the limit")
            let payload = frame.unmaskedData
            switch frame.opcode {
            case .connectionClose:
                if case .valid(let code?) = ClientCloseFrame(payload: payload) {
                    precondition(ClientCloseFrame.isAllowedOnTheWire(code))
                }
            case .text, .continuation:
                if let text = String(validating: payload.readableBytesView, as: UTF8.self) {
                    _ = try? ClientCommand.parse(text)
                }
            default:
                break
            }
        }
    }
    return 0
}
