import NIOCore
import NIOPosix

/// Flushes, once per pass of an event loop, every subscriber written to since the last flush.
///
/// Publishes that reach an event loop together (several in flight, or a burst) then cost one
/// `writev(2)` per socket instead of one per message. One batch exists per event-loop thread.
final class FlushBatch {
    /// Each event-loop thread sees only its own batch.
    nonisolated(unsafe) private static let perThread = ThreadSpecificVariable<FlushBatch>()

    private let eventLoop: any EventLoop
    private var pending: [SubscriberOutbound] = []
    private var scheduled = false

    private init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// The batch of the event loop this code runs on.
    static func current(on eventLoop: any EventLoop) -> FlushBatch {
        eventLoop.preconditionInEventLoop()
        if let batch = self.perThread.currentValue {
            return batch
        }
        let batch = FlushBatch(eventLoop: eventLoop)
        self.perThread.currentValue = batch
        return batch
    }

    /// Asks for `outbound` to be flushed at the end of this pass.
    func add(_ outbound: SubscriberOutbound) {
        self.pending.append(outbound)
        if !self.scheduled {
            self.scheduled = true
            let batch = NIOLoopBound(self, eventLoop: self.eventLoop)
            self.eventLoop.execute { batch.value.flush() }
        }
    }

    private func flush() {
        self.scheduled = false
        let outbounds = self.pending
        self.pending.removeAll(keepingCapacity: true)
        for outbound in outbounds {
            outbound.flush()
        }
    }
}
