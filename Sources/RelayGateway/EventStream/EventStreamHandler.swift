import Foundation
import NIOCore

/// The tail of an event stream's pipeline, once its head is written: the client has nothing more
/// to say (what it sends is dropped), so this handler only keeps the stream alive and ends it.
///
/// - Every `ping_interval` a comment line goes out behind the queued events, so proxies do not
///   time the stream out and a client that is gone shows up as a failed write.
/// - A client that closes its side (curl's Ctrl-C) is gone: the connection closes.
/// - A shutdown ends the stream after what is queued (a `close` event, then the last chunk).
/// - A token with an expiry ends it at that expiry (`close` event "token expired").
final class EventStreamHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let session: SubscriberSession
    private let pingInterval: TimeAmount?
    private let expiresAt: Double?
    private var timers: [Scheduled<Void>] = []
    private var keepalive: RepeatedTask?

    init(session: SubscriberSession, pingInterval: TimeAmount?, expiresAt: Double?) {
        self.session = session
        self.pingInterval = pingInterval
        self.expiresAt = expiresAt
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let outbound = self.session.outbound
        guard case .eventStream(let chunked) = outbound.transport else { return }
        let allocator = context.channel.allocator
        let loop = context.eventLoop
        if let interval = self.pingInterval {
            let bound = NIOLoopBound(outbound, eventLoop: loop)
            self.keepalive = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                bound.value.send(EventStreamFrame.comment("ping", chunked: chunked, allocator: allocator))
            }
        }
        if let expiresAt = self.expiresAt {
            let delay = min(max(0, expiresAt - Date().timeIntervalSince1970), 1e10)
            let bound = NIOLoopBound(outbound, eventLoop: loop)
            self.timers.append(
                loop.scheduleTask(in: .milliseconds(Int64((delay * 1000).rounded(.up)))) {
                    bound.value.close(code: .policyViolation, reason: "token expired", cause: .tokenExpired, afterQueued: false)
                }
            )
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.stopTimers()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Nothing a client sends on an event stream means anything.
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.stopTimers()
        self.session.end()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelShouldQuiesceEvent:
            self.session.outbound.close(code: .goingAway, reason: "server shutting down", cause: .shutdown, afterQueued: true)
        case ChannelEvent.inputClosed:
            context.close(promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func stopTimers() {
        self.keepalive?.cancel()
        self.keepalive = nil
        for timer in self.timers { timer.cancel() }
        self.timers = []
    }
}
