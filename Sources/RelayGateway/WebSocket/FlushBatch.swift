import NIOCore
import NIOPosix

/// Flushes, once per pass of an event loop, every subscriber written to since the last flush; under
/// load, once per `relay.flush_window`.
///
/// Publishes that reach an event loop together (several in flight, or a burst) then cost one
/// `writev(2)` per socket instead of one per message. When the previous flush was a big one (at
/// least `busyBatch` sockets: a fan-out is under way), the next waits `window` after its first
/// write, so the frames of every publish the loop handles meanwhile leave in the same `writev`.
/// After a small flush, the next one happens at the end of the current pass, adding no latency to
/// light traffic. One batch exists per event-loop thread.
final class FlushBatch {
    /// Each event-loop thread sees only its own batch.
    nonisolated(unsafe) private static let perThread = ThreadSpecificVariable<FlushBatch>()

    private let eventLoop: any EventLoop
    private var pending: [SubscriberOutbound] = []
    private var scheduled = false
    /// Sockets in the previous flush.
    private var lastBatchSize = 0
    /// A flush of at least this many sockets makes the next one wait for the window.
    static let busyBatch = 32

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

    /// Asks for `outbound` to be flushed at the end of this pass, or, under load, `window` from now.
    func add(_ outbound: SubscriberOutbound, window: TimeAmount) {
        self.pending.append(outbound)
        guard !self.scheduled else { return }
        self.scheduled = true
        let batch = NIOLoopBound(self, eventLoop: self.eventLoop)
        if window > .zero && self.lastBatchSize >= Self.busyBatch {
            self.eventLoop.scheduleTask(in: window) { batch.value.flush() }
        } else {
            self.eventLoop.execute { batch.value.flush() }
        }
    }

    private func flush() {
        self.scheduled = false
        self.lastBatchSize = self.pending.count
        let outbounds = self.pending
        self.pending.removeAll(keepingCapacity: true)
        for outbound in outbounds {
            outbound.flush()
        }
    }
}
