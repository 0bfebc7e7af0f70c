import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket
import RelayConfig

/// A listener's connection handling: HTTP/1.1 through Hummingbird, and a WebSocket upgrade path
/// the gateway owns.
///
/// Stock HummingbirdWebSocket answers every refused upgrade with a bare 400. Here the upgrade
/// request runs through the listener's own router, filters included, before anything is decided:
/// the `subscribe` handler accepts with `101`, and any other answer (401, 403, 404, 429, 503, ...)
/// is written as it is, JSON body and all, before the connection closes.
struct RelayChannel: ServerChildChannel, HTTPChannelHandler {
    enum UpgradeResult: Sendable {
        case websocket
        case notUpgraded(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, HTTPResponse, ByteBuffer)
    }

    struct Value: ServerChildChannelValue {
        let upgradeResult: EventLoopFuture<UpgradeResult>
        let channel: any Channel
    }

    struct UpgradeRefused: Error {}

    let responder: HTTPChannelHandler.Responder
    let router: RouterResponder<RelayRequestContext>
    let sessions: SubscriberSessions
    let connectionSlots: ConnectionSlots?
    let configuration: HTTP1Channel.Configuration
    /// The first request head must arrive within this, or the connection is closed (slowloris).
    let handshakeTimeout: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let decision = NIOLoopBoundBox<UpgradeDecision?>(nil, eventLoop: channel.eventLoop)
            let headReceived = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
            channel.eventLoop.scheduleTask(in: self.handshakeTimeout) {
                if !headReceived.value { channel.close(promise: nil) }
            }
            let router = self.router
            let sessions = self.sessions
            let connectionSlots = self.connectionSlots
            let upgrader = NIOTypedWebSocketServerUpgrader<UpgradeResult>(
                maxFrameSize: sessions.maxFrameSize,
                // The subscriber's ClientFrameHandler answers decoder errors itself, once, with
                // the right code and cause (NIO's handler would write a second close frame).
                enableAutomaticErrorHandling: false,
                shouldUpgrade: { channel, head in
                    headReceived.value = true
                    let promise = channel.eventLoop.makePromise(of: UpgradeDecision.self)
                    Task(executorPreference: EventLoopTaskExecutor(channel.eventLoop)) {
                        promise.succeed(
                            await UpgradeDecision.decide(
                                head: head, channel: channel, logger: logger, responder: router, connectionSlots: connectionSlots
                            )
                        )
                    }
                    return promise.futureResult.map { result in
                        decision.value = result
                        guard case .upgrade(let upgrade, let headers) = result else { return nil }
                        if upgrade.holdsConnectionSlot, let connectionSlots {
                            channel.closeFuture.whenComplete { _ in connectionSlots.release() }
                        }
                        return headers
                    }
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        guard case .upgrade(let upgrade, _) = decision.value else { throw UpgradeRefused() }
                        try sessions.start(on: channel, upgrade: upgrade)
                        return UpgradeResult.websocket
                    }
                }
            )
            let configuration = self.configuration
            let upgradeConfiguration = NIOTypedHTTPServerUpgradeConfiguration<UpgradeResult>(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    headReceived.value = true
                    return channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try sync.addHandlers(configuration.additionalChannelHandlers())
                        try sync.addHandler(
                            HTTPConnectionStateHandler(idleTimeout: configuration.idleTimeout.map { .init($0) }, logger: logger)
                        )
                        try sync.addHandler(CloseAfterResponse())
                        let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(isOutboundHalfClosureEnabled: true)
                        )
                        if case .refuse(let head, let body) = decision.value {
                            return .refused(asyncChannel, head, body)
                        }
                        return .notUpgraded(asyncChannel)
                    }
                }
            )
            var pipeline = NIOUpgradableHTTPServerPipelineConfiguration(upgradeConfiguration: upgradeConfiguration)
            pipeline.enablePipelining = false
            pipeline.enableErrorHandling = true  // a malformed first request gets 400 and a close, not a hang
            pipeline.enableResponseHeaderValidation = false
            pipeline.decoderConfiguration.maxHeaderFieldSize = configuration.httpDecoder.maxHeaderFieldSize
            pipeline.decoderConfiguration.maxHeaderListSize = configuration.httpDecoder.maxHeaderListSize
            pipeline.decoderConfiguration.maxHeaderFieldCount = configuration.httpDecoder.maxHeaderFieldCount
            let result = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: pipeline)
            return Value(upgradeResult: result, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.upgradeResult.get() {
            case .notUpgraded(let http):
                await withTaskExecutorPreference(EventLoopTaskExecutor(value.channel.eventLoop)) {
                    await self.handleHTTP(asyncChannel: http, logger: logger)
                }
            case .refused(let http, let head, let body):
                try await http.executeThenClose { _, outbound in
                    try await outbound.write(contentsOf: [.head(head), .body(body), .end(nil)])
                }
            case .websocket:
                // The subscriber's pipeline runs on its event loop from here on; no task is kept.
                break
            }
        } catch {
            logger.debug("connection ended during setup", metadata: ["error": "\(error)"])
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with the gateway's own WebSocket upgrade path.
    static func relay(
        router: RouterResponder<RelayRequestContext>,
        sessions: SubscriberSessions,
        connectionSlots: ConnectionSlots?,
        settings: RelaySettings
    ) -> HTTPServerBuilder {
        let configuration = HTTP1Channel.Configuration(
            idleTimeout: settings.idleTimeout > .zero ? TimeAmount(settings.idleTimeout) : nil
        )
        return HTTPServerBuilder { responder in
            RelayChannel(
                responder: responder, router: router, sessions: sessions, connectionSlots: connectionSlots,
                configuration: configuration, handshakeTimeout: TimeAmount(settings.handshakeTimeout)
            )
        }
    }
}
