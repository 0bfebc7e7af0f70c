import NIOCore
import Synchronization

/// A ``GatewayClock`` that moves only when told: ``advance(by:)`` moves time forward and runs,
/// in the order they came due, the work scheduled up to then (each on its event loop, waited for)
/// and wakes the sleepers. Work that runs may schedule more; what comes due within the same
/// advance runs too. For tests: a token expires, a keepalive pings, a window closes when the test
/// says so, never because the machine was slow.
///
/// It starts at the real time of its creation (wall time included, so tokens made by the test
/// with the real time read as they would on a server).
public final class ManualClock: GatewayClock {
    private enum Action {
        case work(any EventLoop, @Sendable () -> Void)
        case wake(CheckedContinuation<Void, any Error>)
    }

    private struct Entry {
        let id: UInt64
        let due: Duration
        let action: Action
    }

    private struct State {
        var elapsed = Duration.zero
        var nextID: UInt64 = 0
        /// Ordered by `due`, then by `id` (the order they were scheduled in).
        var entries: [Entry] = []
        /// Sleeps cancelled before they were entered.
        var cancelledSleeps: Set<UInt64> = []

        mutating func insert(_ entry: Entry) {
            let index = self.entries.firstIndex { $0.due > entry.due } ?? self.entries.endIndex
            self.entries.insert(entry, at: index)
        }

        mutating func remove(_ id: UInt64) -> Entry? {
            guard let index = self.entries.firstIndex(where: { $0.id == id }) else { return nil }
            return self.entries.remove(at: index)
        }

        mutating func takeID() -> UInt64 {
            self.nextID += 1
            return self.nextID
        }
    }

    private let start: ContinuousClock.Instant
    private let wallStart: Double
    private let state = Mutex(State())
    /// One advance at a time.
    private let advancing = Mutex(false)

    /// - Parameter secondsSince1970: the wall time it starts at; the real time by default.
    public init(secondsSince1970: Double = SystemClock.system.secondsSince1970) {
        self.start = .now
        self.wallStart = secondsSince1970
    }

    /// Time moved so far.
    public var elapsed: Duration { self.state.withLock { $0.elapsed } }

    public var now: ContinuousClock.Instant { self.start + self.elapsed }

    public var secondsSince1970: Double { self.wallStart + Self.seconds(self.elapsed) }

    /// How many works and sleeps wait for time to move.
    public var pending: Int { self.state.withLock { $0.entries.count } }

    public func schedule(after delay: Duration, on eventLoop: any EventLoop, _ work: @escaping @Sendable () -> Void) -> ScheduledWork {
        let id = self.state.withLock { state in
            let id = state.takeID()
            state.insert(Entry(id: id, due: state.elapsed + max(delay, .zero), action: .work(eventLoop, work)))
            return id
        }
        return ScheduledWork { [weak self] in
            _ = self?.state.withLock { $0.remove(id) }
        }
    }

    public func sleep(for duration: Duration) async throws {
        let id = self.state.withLock { $0.takeID() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let cancelled = self.state.withLock { state in
                    if state.cancelledSleeps.remove(id) != nil { return true }
                    state.insert(Entry(id: id, due: state.elapsed + max(duration, .zero), action: .wake(continuation)))
                    return false
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let entry = self.state.withLock { state in
                let entry = state.remove(id)
                if entry == nil { state.cancelledSleeps.insert(id) }
                return entry
            }
            if case .wake(let continuation) = entry?.action {
                continuation.resume(throwing: CancellationError())
            }
        }
    }

    /// Moves time forward by `duration`: each work that comes due meanwhile runs at its due time,
    /// on its event loop, and is waited for; each sleeper that comes due is woken. Returns once
    /// the clock reads `duration` later than before.
    public func advance(by duration: Duration) async throws {
        precondition(duration >= .zero, "time moves forward only")
        let busy = self.advancing.withLock { busy in
            defer { busy = true }
            return busy
        }
        precondition(!busy, "one advance at a time")
        defer { self.advancing.withLock { $0 = false } }
        let target = self.state.withLock { $0.elapsed + duration }
        while let entry = self.nextDue(by: target) {
            switch entry.action {
            case .work(let eventLoop, let work):
                try await eventLoop.submit(work).get()
            case .wake(let continuation):
                continuation.resume()
                // The woken task runs at once where it can: let it before moving on.
                await Task.yield()
            }
        }
        self.state.withLock { $0.elapsed = target }
    }

    /// Takes the first entry due by `target`, the clock moved to its due time.
    private func nextDue(by target: Duration) -> Entry? {
        self.state.withLock { state in
            guard let first = state.entries.first, first.due <= target else { return nil }
            state.entries.removeFirst()
            state.elapsed = max(state.elapsed, first.due)
            return first
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
