import NIOCore
import NIOPosix
import RelayCore
import ServiceLifecycle
import Synchronization

/// Runs a service's round every `interval` (read again for each round: a reload may change it) on
/// an event loop, as the gateway's clock counts time, until graceful shutdown or cancellation: the
/// registration sweeper's and the history trimmer's. Scheduled on the clock rather than slept on,
/// so a ``ManualClock`` runs each round at its time and waits for it.
enum ClockRounds {
    static func run(
        every interval: @autoclosure @escaping @Sendable () -> Duration, clock: any GatewayClock, _ round: @escaping @Sendable () -> Void
    ) async {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        let next = Mutex<ScheduledWork?>(nil)
        let stopped = Atomic<Bool>(false)
        @Sendable func scheduleNext() {
            let work = clock.schedule(after: interval(), on: eventLoop) {
                guard !stopped.load(ordering: .relaxed) else { return }
                round()
                scheduleNext()
            }
            next.withLock { $0 = work }
        }
        scheduleNext()
        try? await gracefulShutdown()
        stopped.store(true, ordering: .relaxed)
        next.withLock { $0?.cancel() }
    }
}
