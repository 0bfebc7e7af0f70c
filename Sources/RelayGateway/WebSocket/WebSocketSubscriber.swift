import NIOCore
import NIOWebSocket
import RelayCore
import Synchronization

/// The relay core's handle on one live WebSocket: messages and closes hop to the connection's
/// event loop and go through its ``SubscriberFeed`` and ``SubscriberOutbound``.
public final class WebSocketSubscriber: RelayConnection {
    public typealias Message = PublishedMessage

    let eventLoop: any EventLoop
    private let feed: NIOLoopBound<SubscriberFeed>
    /// Names this connection in a cluster's claims.
    let token = UInt64.random(in: 1 ... .max)
    /// Set when a cluster's bus has handed back this connection's own claim: from then on a later
    /// claim of the same client on another node replaces it.
    let isClaimed = Atomic<Bool>(false)

    init(feed: SubscriberFeed, eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.feed = NIOLoopBound(feed, eventLoop: eventLoop)
    }

    public func send(_ message: PublishedMessage) {
        if self.eventLoop.inEventLoop {
            self.feed.value.receive(message)
        } else {
            self.eventLoop.execute { self.feed.value.receive(message) }
        }
    }

    /// One hop per event loop per publish: recipients on the same loop get the message in one task.
    public static func deliver(_ frame: PublishedMessage, to recipients: [WebSocketSubscriber]) {
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
                for subscriber in subscribers { subscriber.feed.value.receive(frame) }
            } else {
                eventLoop.execute {
                    for subscriber in subscribers { subscriber.feed.value.receive(frame) }
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
            self.feed.value.outbound.close(code: code, reason: text, cause: cause, afterQueued: afterQueued)
        }
    }
}
