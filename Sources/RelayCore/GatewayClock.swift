import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the gateway reads the time and waits: token expiry, keepalive, registration TTL,
/// idempotency and history windows all ask it, so a test can move time instead of waiting for it.
///
/// The gateway uses ``SystemClock`` unless it is given another; tests give a ``ManualClock``:
///
/// ```swift
/// let clock = ManualClock()
/// let gateway = try Gateway(config: config, logger: logger, clock: clock)
/// // ... a subscriber with a token that expires in 30 s
/// try await clock.advance(by: .seconds(31))  // its expiry ran: the subscriber got 1008 "token expired"
/// ```
public protocol GatewayClock: AnyObject, Sendable {
    /// Monotonic time, for windows and TTLs.
    var now: ContinuousClock.Instant { get }
    /// Wall time in seconds since 1970, for a token's `exp`, `nbf` and `iat`.
    var secondsSince1970: Double { get }
    /// Runs `work` on `eventLoop` once `delay` has passed.
    func schedule(after delay: Duration, on eventLoop: any EventLoop, _ work: @escaping @Sendable () -> Void) -> ScheduledWork
    /// Returns once `duration` has passed; throws `CancellationError` if the task is cancelled first.
    func sleep(for duration: Duration) async throws
}

/// Work a ``GatewayClock`` will run later, until it is cancelled.
public struct ScheduledWork: Sendable {
    private let cancelWork: @Sendable () -> Void

    public init(cancel: @escaping @Sendable () -> Void) {
        self.cancelWork = cancel
    }

    /// The work will not run (if it has not already).
    public func cancel() {
        self.cancelWork()
    }
}

/// The real time: `ContinuousClock`, the system's wall clock, and the event loop's own timers.
public final class SystemClock: GatewayClock {
    /// The one system clock (what a gateway uses unless it is given another).
    public static let system = SystemClock()

    private init() {}

    @inlinable
    public var now: ContinuousClock.Instant { .now }

    public var secondsSince1970: Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    public func schedule(after delay: Duration, on eventLoop: any EventLoop, _ work: @escaping @Sendable () -> Void) -> ScheduledWork {
        let scheduled = eventLoop.scheduleTask(in: TimeAmount(delay), work)
        return ScheduledWork { scheduled.cancel() }
    }

    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }
}
