import NIOCore
import NIOPosix
import Synchronization

/// `relay_publish_enqueue_seconds`: how long each publish took to find its recipients and hand
/// them the message, as a Prometheus histogram with one series per publishing thread.
///
/// Recorded on every publish, so written by hand instead of with swift-prometheus's histogram,
/// whose `record` takes a lock and compares `Duration`s through generic code (callgrind: some
/// 1,700 instructions a publish). Here a thread finds its own series in a thread-local slot and
/// adds to two atomics that only it writes; a scrape reads them and writes the text exposition.
final class EnqueueLatency: Sendable {
    /// The buckets' upper bounds in nanoseconds, and as the exposition writes them (seconds).
    static let bounds: [Int64] = [10_000, 50_000, 100_000, 500_000, 1_000_000, 5_000_000, 10_000_000, 50_000_000, 100_000_000]
    private static let boundLabels = ["1e-05", "5e-05", "0.0001", "0.0005", "0.001", "0.005", "0.01", "0.05", "0.1", "+Inf"]
    static let name = "relay_publish_enqueue_seconds"
    static let help = "Time a publish took to find its recipients and hand them the message, per publishing thread"

    /// One thread's counts: one atomic per bucket (not cumulative), the one past the last
    /// bound, and the sum in nanoseconds.
    final class Series: @unchecked Sendable {
        let thread: Int
        // Raw memory: `Atomic` cannot be kept in an array.
        private let counts: UnsafeMutablePointer<Atomic<Int>>
        private static let slots = EnqueueLatency.bounds.count + 2

        init(thread: Int) {
            self.thread = thread
            self.counts = .allocate(capacity: Self.slots)
            for slot in 0..<Self.slots {
                (self.counts + slot).initialize(to: Atomic(0))
            }
        }

        deinit {
            self.counts.deinitialize(count: Self.slots)
            self.counts.deallocate()
        }

        func record(nanoseconds: Int64) {
            var bucket = 0
            while bucket < EnqueueLatency.bounds.count, nanoseconds > EnqueueLatency.bounds[bucket] {
                bucket += 1
            }
            self.counts[bucket].add(1, ordering: .relaxed)
            self.counts[Self.slots - 1].add(Int(nanoseconds), ordering: .relaxed)
        }

        /// Cumulative counts per bound (the last is the total), and the sum in nanoseconds.
        var snapshot: (cumulative: [Int], sumNanoseconds: Int) {
            var running = 0
            var cumulative: [Int] = []
            for bucket in 0...EnqueueLatency.bounds.count {
                running += self.counts[bucket].load(ordering: .relaxed)
                cumulative.append(running)
            }
            return (cumulative, self.counts[Self.slots - 1].load(ordering: .relaxed))
        }
    }

    /// This gateway's series, by thread.
    private let series = Mutex<[Series]>([])
    /// Names this object in the threads' slots (an address could be reused by another gateway's).
    private let id = EnqueueLatency.ids.add(1, ordering: .relaxed).oldValue
    private static let ids = Atomic<Int>(0)

    /// Each thread's series, of the gateway it last recorded for (and any others it recorded for).
    private final class ThreadSlot {
        var lastID = -1
        var last: Series?
        var others: [Int: Series] = [:]
    }

    nonisolated(unsafe) private static let slotOfThread = ThreadSpecificVariable<ThreadSlot>()

    func record(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.seriesOfThisThread().record(nanoseconds: seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    private func seriesOfThisThread() -> Series {
        let slot: ThreadSlot
        if let existing = Self.slotOfThread.currentValue {
            slot = existing
        } else {
            slot = ThreadSlot()
            Self.slotOfThread.currentValue = slot
        }
        if slot.lastID == self.id, let last = slot.last {
            return last
        }
        let series: Series
        if let known = slot.others[self.id] {
            series = known
        } else {
            series = self.series.withLock { all in
                let made = Series(thread: all.count)
                all.append(made)
                return made
            }
            slot.others[self.id] = series
        }
        slot.lastID = self.id
        slot.last = series
        return series
    }

    /// The text exposition of every series (nothing before the first publish).
    func exposition() -> String {
        let all = self.series.withLock { $0 }
        guard !all.isEmpty else { return "" }
        var text = "# HELP \(Self.name) \(Self.help)\n# TYPE \(Self.name) histogram\n"
        for series in all {
            let (cumulative, sum) = series.snapshot
            for (label, count) in zip(Self.boundLabels, cumulative) {
                text += "\(Self.name)_bucket{thread=\"\(series.thread)\",le=\"\(label)\"} \(count)\n"
            }
            text += "\(Self.name)_sum{thread=\"\(series.thread)\"} \(Double(sum) / 1e9)\n"
            text += "\(Self.name)_count{thread=\"\(series.thread)\"} \(cumulative.last ?? 0)\n"
        }
        return text
    }
}
