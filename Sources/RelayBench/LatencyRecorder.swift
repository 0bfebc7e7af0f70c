import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Monotonic nanoseconds, comparable between the bench's publisher and its subscribers.
func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// Deliveries and their latencies, counted by every subscriber connection.
final class DeliveryCounter: Sendable {
    private let received = Atomic<Int>(0)
    private let samples = Mutex<[[UInt32]]>([])
    private let arrivals = Mutex<[[UInt32]]>([])
    /// When the measured phase began (monotonic nanoseconds); arrivals are counted from it.
    private let startNanoseconds = Atomic<UInt64>(monotonicNanoseconds())

    var start: UInt64 { self.startNanoseconds.load(ordering: .relaxed) }

    func markStart() {
        self.startNanoseconds.store(monotonicNanoseconds(), ordering: .relaxed)
    }

    var count: Int { self.received.load(ordering: .relaxed) }

    func delivered() {
        self.received.add(1, ordering: .relaxed)
    }

    /// A subscriber hands over its latency samples (microseconds) and arrival times
    /// (milliseconds after `start`) when the run ends.
    func add(samples: [UInt32], arrivals: [UInt32]) {
        self.samples.withLock { $0.append(samples) }
        self.arrivals.withLock { $0.append(arrivals) }
    }

    func reset() {
        self.received.store(0, ordering: .relaxed)
        self.samples.withLock { $0 = [] }
        self.arrivals.withLock { $0 = [] }
    }

    /// Deliveries per second in consecutive slices of `slice` milliseconds from `start`.
    func deliveryRate(sliceMilliseconds slice: UInt32 = 100) -> [Double] {
        let all = self.arrivals.withLock { $0 }
        var counts: [Int] = []
        for arrivals in all {
            for arrival in arrivals {
                let index = Int(arrival / slice)
                if index >= counts.count { counts += Array(repeating: 0, count: index + 1 - counts.count) }
                counts[index] += 1
            }
        }
        return counts.map { Double($0) * 1000 / Double(slice) }
    }

    /// All samples so far, sorted.
    func sortedLatencies() -> [UInt32] {
        self.samples.withLock { $0.flatMap { $0 } }.sorted()
    }
}

/// Percentiles of sorted latencies in microseconds.
public struct LatencySummary: Sendable, Encodable {
    public let p50: Double
    public let p99: Double
    public let max: Double
    public let samples: Int

    init(sortedMicroseconds values: [UInt32]) {
        func percentile(_ fraction: Double) -> Double {
            guard !values.isEmpty else { return 0 }
            let index = Swift.min(values.count - 1, Int((Double(values.count) * fraction).rounded(.up)) - 1)
            return Double(values[Swift.max(0, index)]) / 1000
        }
        self.p50 = percentile(0.50)
        self.p99 = percentile(0.99)
        self.max = Double(values.last ?? 0) / 1000
        self.samples = values.count
    }
}
