import Foundation

/// What a delivery run looked like over its course: a latency histogram with log-spaced buckets,
/// and deliveries per second in 100 ms slices.
public struct RunSeries: Sendable, Encodable {
    public struct Bucket: Sendable, Encodable {
        /// Upper bound of the bucket, in milliseconds.
        public let upToMs: Double
        public let count: Int
    }

    public let latencyBuckets: [Bucket]
    public let deliveriesPerSecond: [Double]
    /// The width of each `deliveriesPerSecond` slice.
    public let sliceSeconds: Double

    /// Bucket bounds: 4 per decade from 10 µs to 10 s.
    static let bounds: [Double] = (0...24).map { 0.01 * pow(10, Double($0) / 4) }

    init(sortedMicroseconds values: [UInt32], deliveriesPerSecond: [Double], sliceSeconds: Double = 0.1) {
        var counts = Array(repeating: 0, count: Self.bounds.count)
        var bucket = 0
        for value in values {
            let milliseconds = Double(value) / 1000
            while bucket < Self.bounds.count - 1 && milliseconds > Self.bounds[bucket] {
                bucket += 1
            }
            counts[bucket] += 1
        }
        // Drop empty buckets at both ends, keeping the shape in between.
        let first = counts.firstIndex { $0 > 0 } ?? 0
        let last = counts.lastIndex { $0 > 0 } ?? 0
        self.latencyBuckets = (first...last).map { Bucket(upToMs: Self.bounds[$0], count: counts[$0]) }
        self.deliveriesPerSecond = deliveriesPerSecond
        self.sliceSeconds = sliceSeconds
    }
}
