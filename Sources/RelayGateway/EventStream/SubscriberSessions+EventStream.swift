import NIOCore
import NIOHTTP1
import RelayCore
import RelayHTTP

extension SubscriberSessions {
    /// Turns an answered `events` request into a live subscriber: once the head is written, the
    /// channel gets a send queue nearest the socket (events go out as chunks when `framing` is
    /// chunked) and an ``EventStreamHandler`` at its tail, then is attached like a WebSocket.
    func startEventStream(on channel: any Channel, framing: StreamedBody.Framing, slot: UpgradeSlot, listener: String, request: Request) throws {
        guard let clientID = slot.clientID else { return }
        let pipeline = channel.pipeline.syncOperations
        let outbound = self.makeOutbound(for: clientID, transport: .eventStream(chunked: framing == .chunked))
        // Nearest the socket, but behind the transport (TLS): before the request decoder, which
        // leaves the pipeline right after this.
        let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
        try pipeline.addHandler(outbound, position: .before(decoder))
        let feed = SubscriberFeed(outbound: outbound, envelopes: self.envelopes, eventStreams: self.eventStreams)
        let session = SubscriberSession(
            clientID: clientID, subscriber: WebSocketSubscriber(feed: feed, eventLoop: channel.eventLoop), feed: feed,
            relay: self.relay, registrations: self.registrations, metrics: self.metrics, slot: slot
        )
        outbound.onClosing = session.detach
        let identity = slot.identity
        try pipeline.addHandler(
            EventStreamHandler(
                session: session,
                pingInterval: self.settings.pingInterval > .zero ? TimeAmount(self.settings.pingInterval) : nil,
                expiresAt: identity?.expiresAt
            )
        )
        self.open.opened(outbound, frames: nil, on: channel, listener: listener, handshake: request)
        try self.attach(session, on: channel, options: slot.options, identity: identity)
    }
}
