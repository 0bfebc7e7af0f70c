import NIOCore
import NIOPosix
import Synchronization

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
    private var pending: [SubscriberConnection] = []
    private var scheduled = false
    /// Sockets in the previous flush, the frames written to them, and how long it took.
    private var lastBatchSize = 0
    private var lastFrames = 0
    private var lastFlushTime = TimeAmount.zero
    /// Frames written since the last flush (counted by the connections).
    var frames = 0
    /// A flush of at least this many sockets makes the next one wait for the window.
    static let busyBatch = 32
    /// The longest a flush waits, however long the last one took.
    static let longestWait = TimeAmount.milliseconds(50)

    private init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// The batch of the event loop this code runs on. A thread runs one event loop; one that has
    /// run another before (a test's `EmbeddedEventLoop`, one per test) gets a batch of its own.
    static func current(on eventLoop: any EventLoop) -> FlushBatch {
        eventLoop.preconditionInEventLoop()
        if let batch = self.perThread.currentValue, batch.eventLoop === eventLoop {
            return batch
        }
        let batch = FlushBatch(eventLoop: eventLoop)
        self.perThread.currentValue = batch
        return batch
    }

    /// Asks for `connection` to be flushed at the end of this pass, or, under load, `window` from now.
    func add(_ connection: SubscriberConnection, window: TimeAmount) {
        self.pending.append(connection)
        guard !self.scheduled else { return }
        self.scheduled = true
        let batch = NIOLoopBound(self, eventLoop: self.eventLoop)
        if window > .zero && self.lastBatchSize >= Self.busyBatch {
            // Saturated (publishes piled up: three frames or more per socket last time) with a
            // flush that takes longer than the window (thousands of sockets per loop): wait as
            // long as the last flush took, so flushing keeps at most half the loop and the frames
            // of more publishes share each writev. Steady lighter traffic keeps the window.
            let saturated = self.lastFrames >= 3 * self.lastBatchSize
            let wait = saturated ? min(max(window, self.lastFlushTime), Self.longestWait) : window
            self.eventLoop.scheduleTask(in: wait) { batch.value.flush() }
        } else {
            self.eventLoop.execute { batch.value.flush() }
        }
    }

    /// A flush of more sockets than `slicedAbove` (thousands per event loop) goes in slices of
    /// `slice`, each queued behind the loop's other tasks: publishes the other loop hands over
    /// meanwhile add their frames to the sockets not flushed yet, which then share one `writev`,
    /// and publish requests get their answers sooner instead of waiting out a flush of tens of
    /// milliseconds. Smaller flushes go in one pass.
    static let slicedAbove = 2048
    static let slice = 256
    /// Flushes that went in slices, since start (read by tests).
    static let slicedFlushes = Atomic<Int>(0)

    private func flush() {
        self.scheduled = false
        self.lastBatchSize = self.pending.count
        self.lastFrames = self.frames
        self.frames = 0
        let connections = self.pending
        self.pending.removeAll(keepingCapacity: true)
        self.lastFlushTime = .zero
        if connections.count > Self.slicedAbove {
            Self.slicedFlushes.add(1, ordering: .relaxed)
        }
        self.flush(connections, from: 0)
    }

    private func flush(_ connections: [SubscriberConnection], from start: Int) {
        let started = NIODeadline.now()
        let slice = connections.count > Self.slicedAbove ? Self.slice : connections.count
        let end = min(connections.count, start + slice)
        for connection in connections[start..<end] {
            connection.flush()
        }
        self.lastFlushTime = self.lastFlushTime + (NIODeadline.now() - started)
        guard end < connections.count else { return }
        let batch = NIOLoopBound(self, eventLoop: self.eventLoop)
        self.eventLoop.execute { batch.value.flush(connections, from: end) }
    }
}
