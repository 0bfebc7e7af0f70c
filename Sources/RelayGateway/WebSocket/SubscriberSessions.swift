import Logging
import NIOCore
import RelayConfig
import RelayCore

/// Turns an upgraded channel into a live subscriber: builds its pipeline and attaches it to the relay.
struct SubscriberSessions: Sendable {
    let relay: Relay<WebSocketSubscriber>
    let settings: RelaySettings
    let logger: Logger
    let metrics: RelayMetrics

    /// The largest frame the decoder accepts (`relay.max_message_bytes`).
    var maxFrameSize: Int { min(self.settings.maxMessageBytes, Int(UInt32.max)) }

    func start(on channel: any Channel, upgrade: UpgradeSlot) throws {
        guard let clientID = upgrade.clientID else { return }
        let metrics = self.metrics
        metrics.connectionsOpened.increment()
        upgrade.onSessionEnd { summary in
            metrics.connectionClosed(summary.closeCause, dropped: summary.messagesDropped)
        }
        let pipeline = channel.pipeline.syncOperations
        let outbound = SubscriberOutbound(capacity: self.settings.sendQueue, policy: self.settings.slowConsumer)
        let logger = self.logger
        outbound.onSlowConsumer = { policy in
            logger.warning("slow consumer", metadata: ["client": "\(clientID.masked)", "policy": "\(policy.rawValue)"])
        }
        try pipeline.addHandler(outbound, position: .first)
        let subscriber = WebSocketSubscriber(outbound: outbound, eventLoop: channel.eventLoop)
        let relay = self.relay
        outbound.onClosing = { relay.detach(subscriber, from: clientID) }
        try pipeline.addHandler(
            ClientFrameHandler(
                relay: self.relay,
                clientID: clientID,
                subscriber: subscriber,
                outbound: outbound,
                maxMessageBytes: self.settings.maxMessageBytes,
                upgrade: upgrade,
                keepalive: .init(
                    interval: self.settings.pingInterval > .zero ? TimeAmount(self.settings.pingInterval) : nil,
                    timeout: TimeAmount(self.settings.pingTimeout)
                )
            )
        )
        try channel.syncOptions?.setOption(.writeBufferWaterMark, value: .init(low: 32 * 1024, high: 64 * 1024))
        if self.relay.attach(subscriber, to: clientID) == nil {
            outbound.close(code: .policyViolation, reason: "unknown client id", cause: .unregistered, afterQueued: false)
        }
    }
}
