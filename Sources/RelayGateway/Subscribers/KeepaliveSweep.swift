import NIOCore
import NIOPosix

/// Server pings for all WebSockets of one event loop, from one repeated task.
///
/// A timer per connection would cost every idle connection a scheduled task; here a connection
/// costs one table entry, and each tick pings (or times out) every member of the loop.
final class KeepaliveSweep {
    /// One sweep per event-loop thread and interval (several gateways may share the loops).
    nonisolated(unsafe) private static let perThread = ThreadSpecificVariable<Box>()

    private final class Box {
        var sweeps: [TimeAmount: KeepaliveSweep] = [:]
    }

    private let eventLoop: any EventLoop
    private let interval: TimeAmount
    private var members: [ObjectIdentifier: SubscriberConnection] = [:]
    private var task: RepeatedTask?

    private init(eventLoop: any EventLoop, interval: TimeAmount) {
        self.eventLoop = eventLoop
        self.interval = interval
    }

    /// The sweep of the event loop this code runs on, for `interval`.
    static func current(on eventLoop: any EventLoop, interval: TimeAmount) -> KeepaliveSweep {
        eventLoop.preconditionInEventLoop()
        let box = self.perThread.currentValue ?? Box()
        self.perThread.currentValue = box
        if let sweep = box.sweeps[interval] {
            return sweep
        }
        let sweep = KeepaliveSweep(eventLoop: eventLoop, interval: interval)
        box.sweeps[interval] = sweep
        return sweep
    }

    func add(_ connection: SubscriberConnection) {
        self.members[ObjectIdentifier(connection)] = connection
        if self.task == nil {
            let sweep = NIOLoopBound(self, eventLoop: self.eventLoop)
            self.task = self.eventLoop.scheduleRepeatedTask(initialDelay: self.interval, delay: self.interval) { _ in
                sweep.value.tick()
            }
        }
    }

    func remove(_ connection: SubscriberConnection) {
        self.members[ObjectIdentifier(connection)] = nil
        if self.members.isEmpty {
            self.task?.cancel()
            self.task = nil
        }
    }

    private func tick() {
        for connection in Array(self.members.values) {
            connection.keepaliveTick()
        }
    }
}
