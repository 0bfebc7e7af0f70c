import NIOCore
import NIOPosix
import RelayCore

/// Server pings for all subscribers of one event loop, from one task the clock runs again and again.
///
/// A timer per connection would cost every idle connection a scheduled task; here a connection
/// costs one table entry, and each tick pings (or times out) every member of the loop.
final class KeepaliveSweep {
    /// One sweep per event-loop thread, interval and clock (several gateways may share the loops).
    nonisolated(unsafe) private static let perThread = ThreadSpecificVariable<Box>()

    private struct Key: Hashable {
        let interval: Duration
        let clock: ObjectIdentifier
    }

    private final class Box {
        var sweeps: [Key: KeepaliveSweep] = [:]
    }

    private let eventLoop: any EventLoop
    private let key: Key
    private let clock: any GatewayClock
    private var members: [ObjectIdentifier: SubscriberConnection] = [:]
    private var next: ScheduledWork?

    private init(eventLoop: any EventLoop, key: Key, clock: any GatewayClock) {
        self.eventLoop = eventLoop
        self.key = key
        self.clock = clock
    }

    /// The sweep of the event loop this code runs on, for `interval` on `clock`.
    static func current(on eventLoop: any EventLoop, interval: Duration, clock: any GatewayClock) -> KeepaliveSweep {
        eventLoop.preconditionInEventLoop()
        let box = self.perThread.currentValue ?? Box()
        self.perThread.currentValue = box
        let key = Key(interval: interval, clock: ObjectIdentifier(clock))
        if let sweep = box.sweeps[key] {
            return sweep
        }
        let sweep = KeepaliveSweep(eventLoop: eventLoop, key: key, clock: clock)
        box.sweeps[key] = sweep
        return sweep
    }

    func add(_ connection: SubscriberConnection) {
        self.members[ObjectIdentifier(connection)] = connection
        if self.next == nil {
            self.scheduleTick()
        }
    }

    /// Once the last member leaves, the sweep stops and is forgotten (a clock a test made goes with it).
    func remove(_ connection: SubscriberConnection) {
        self.members[ObjectIdentifier(connection)] = nil
        if self.members.isEmpty {
            self.next?.cancel()
            self.next = nil
            if let box = Self.perThread.currentValue, box.sweeps[self.key] === self {
                box.sweeps[self.key] = nil
            }
        }
    }

    private func scheduleTick() {
        let sweep = NIOLoopBound(self, eventLoop: self.eventLoop)
        self.next = self.clock.schedule(after: self.key.interval, on: self.eventLoop) {
            sweep.value.tick()
        }
    }

    private func tick() {
        self.next = nil
        for connection in Array(self.members.values) {
            connection.keepaliveTick()
        }
        if !self.members.isEmpty && self.next == nil {
            self.scheduleTick()
        }
    }
}
