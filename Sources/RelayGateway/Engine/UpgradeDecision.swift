import Hummingbird
import Logging
import HummingbirdCore
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// The outcome of running a listener's routes and filters on a WebSocket upgrade request.
enum UpgradeDecision: Sendable {
    /// Upgrade, adding these headers (from filters) to the `101` answer.
    case upgrade(UpgradeSlot, HTTPHeaders)
    /// Refuse with this complete HTTP answer (status, headers, JSON body).
    case refuse(HTTPResponse, ByteBuffer)

    /// Runs `responder` (the listener's router with its filters) on the upgrade request. The
    /// `subscribe` handler accepts by answering `101` and leaving the client id in the slot; any
    /// other answer is a refusal, sent as it is.
    static func decide(
        head: HTTPRequestHead,
        channel: any Channel,
        logger: Logger,
        responder: some HTTPResponder<RelayRequestContext>,
        connectionSlots: ConnectionSlots?
    ) async -> UpgradeDecision {
        let slot = UpgradeSlot(connectionSlots: connectionSlots)
        let response: Response
        do {
            let request = Request(head: try HTTPRequest(head, secure: false, splitCookie: false), body: RequestBody(buffer: ByteBuffer()))
            let context = RelayRequestContext(channel: channel, logger: logger, upgrade: slot)
            response = try await responder.respond(to: request, context: context)
        } catch {
            response = RelayHTTPError.from(error).response
        }
        if response.status == .switchingProtocols, slot.clientID != nil {
            var headers = HTTPHeaders(response.headers)
            for hopByHop in ["Connection", "Upgrade", "Content-Length", "Content-Type"] {
                headers.remove(name: hopByHop)
            }
            return .upgrade(slot, headers)
        }
        if slot.holdsConnectionSlot {
            connectionSlots?.release()
        }
        var head = response.head
        head.headerFields[.connection] = "close"
        let body = await BodyCollector.collect(response.body)
        head.headerFields[.contentLength] = String(body.readableBytes)
        return .refuse(head, body)
    }
}

/// Collects a response body into one buffer (refusals are small JSON documents).
private final class BodyCollector: ResponseBodyWriter {
    private var buffer = ByteBuffer()

    func write(_ buffer: ByteBuffer) async throws {
        var buffer = buffer
        self.buffer.writeBuffer(&buffer)
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}

    static func collect(_ body: ResponseBody) async -> ByteBuffer {
        let collector = BodyCollector()
        try? await body.write(collector)
        return collector.buffer
    }
}
