import NIOCore
import NIOEmbedded
import NIOWebSocket

@testable import RelayGateway

/// Bytes a client sends on a WebSocket: NIO's frame decoder reads them, and every frame goes to
/// the gateway's own readers, the close-frame rules and the command parser.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientFrames(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let channel = EmbeddedChannel()
    defer { _ = try? channel.finish() }
    try! channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 16)))
    _ = try? channel.writeInbound(ByteBuffer(bytes: UnsafeBufferPointer(start: start, count: count)))
    while let frame = try? channel.readInbound(as: WebSocketFrame.self) {
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
    return 0
}
