import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded

@testable import RelayHTTP

/// Bytes a client sends to a listener, in one or two reads: the engine answers each request in
/// order, or refuses with exactly one error and closes. What it writes is always whole HTTP/1.1
/// answers (or a 101 and what follows), never a crash.
private let router = Router(
    routes: [
        Route(method: .get, segments: [.literal("health")], responder: HandlerResponder { _, _ in .now(Response(status: .ok)) }),
        Route(
            method: .post, segments: [.literal("echo"), .parameter("id")],
            responder: HandlerResponder { request, _ in .now(Response(status: .ok, body: request.body)) }
        ),
        Route(
            method: .get, segments: [.literal("ws"), .parameter("id")],
            responder: HandlerResponder { _, context in
                guard context.isWebSocketHandshake else { throw HTTPError(.upgradeRequired, "needs a WebSocket") }
                return .now(.webSocket(AcceptsAnything()))
            },
            acceptsWebSocket: true
        ),
    ],
    listenerFilters: []
)

/// Takes the connection and reads nothing: the frames are the decoder's to judge.
private struct AcceptsAnything: ConnectionHandover {
    func install(on channel: any Channel, framing: HandoverFraming) throws {}
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    var configuration = HTTPServer.Configuration(host: "127.0.0.1", port: 0)
    configuration.maxBodyBytes = 4096
    configuration.maxHeadBytes = 8192
    let channel = EmbeddedChannel()
    defer { _ = try? channel.finish() }
    try! HTTPServer.configure(
        channel, content: ListenerContent(router: router), settings: ConnectionLimits(configuration), limits: HTTPServer.limits(configuration),
        upgrader: HTTPServer.upgrader(configuration), tls: nil, logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
    )
    let bytes = UnsafeBufferPointer(start: start, count: count)
    // The first byte picks where the input splits into two reads.
    let split = count > 1 ? Int(bytes[0]) % count : count
    for part in [bytes[min(1, count)..<max(min(1, count), split)], bytes[max(min(1, count), split)...]] where !part.isEmpty {
        guard channel.isActive else { break }
        _ = try? channel.writeInbound(ByteBuffer(bytes: part))
    }
    var written: [UInt8] = []
    while let buffer = try? channel.readOutbound(as: ByteBuffer.self) {
        written += buffer.readableBytesView
    }
    if !written.isEmpty {
        precondition(written.starts(with: Array("HTTP/1.".utf8)), "an answer that is not HTTP: \(written.prefix(40))")
    }
    return 0
}
