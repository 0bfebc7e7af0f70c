import NIOCore
import NIOWebSocket
import RelayCore

/// The relay core's handle on one live WebSocket: messages and closes hop to the connection's
/// event loop and go through its ``SubscriberOutbound``.
public final class WebSocketSubscriber: RelayConnection {
    public typealias Message = ByteBuffer

    let eventLoop: any EventLoop
    private let outbound: NIOLoopBound<SubscriberOutbound>

    init(outbound: SubscriberOutbound, eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.outbound = NIOLoopBound(outbound, eventLoop: eventLoop)
    }

    public func send(_ message: ByteBuffer) {
        if self.eventLoop.inEventLoop {
            self.outbound.value.send(message)
        } else {
            self.eventLoop.execute { self.outbound.value.send(message) }
        }
    }

    /// One hop per event loop per publish: recipients on the same loop get the frame in one task.
    public static func deliver(_ frame: ByteBuffer, to recipients: [WebSocketSubscriber]) {
        var groups: [(eventLoop: any EventLoop, subscribers: [WebSocketSubscriber])] = []
        for subscriber in recipients {
            if let index = groups.firstIndex(where: { $0.eventLoop === subscriber.eventLoop }) {
                groups[index].subscribers.append(subscriber)
            } else {
                groups.append((subscriber.eventLoop, [subscriber]))
            }
        }
        for (eventLoop, subscribers) in groups {
            if eventLoop.inEventLoop {
                for subscriber in subscribers { subscriber.outbound.value.send(frame) }
            } else {
                eventLoop.execute {
                    for subscriber in subscribers { subscriber.outbound.value.send(frame) }
                }
            }
        }
    }

    public func close(_ reason: CloseReason) {
        let (code, text, cause, afterQueued): (WebSocketErrorCode, String, RelayMetrics.CloseCause, Bool) =
            switch reason {
            case .unregistered: (.normalClosure, "unregistered", .unregistered, true)
            case .replaced: (.normalClosure, "replaced by a new connection", .replaced, false)
            }
        self.eventLoop.execute {
            self.outbound.value.close(code: code, reason: text, cause: cause, afterQueued: afterQueued)
        }
    }
}
