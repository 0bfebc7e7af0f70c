import RelayCore
import Synchronization

/// Token buckets by key, bounded in memory: the table is split into independently locked shards,
/// each with a hard cap; when a shard is full, buckets that have refilled (idle keys) go first,
/// then the least recently used one.
final class TokenBuckets: Sendable {
    struct Decision: Equatable {
        let allowed: Bool
        let remaining: Int
        let retryAfterSeconds: Int
        let resetSeconds: Int
    }

    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private final class Shard: Sendable {
        let buckets = Mutex<[String: Bucket]>([:])
    }

    let perSecond: Double
    let burst: Int
    private let shards: [Shard]
    private let maxKeysPerShard: Int
    /// What refills are measured with, when ``take(key:now:)`` is given no time.
    private let clock: any GatewayClock

    init(perSecond: Double, burst: Int, maxKeys: Int, shardCount: Int = 16, clock: any GatewayClock = SystemClock.system) {
        self.perSecond = perSecond
        self.clock = clock
        self.burst = burst
        let shardCount = max(1, min(shardCount, maxKeys))
        self.shards = (0..<shardCount).map { _ in Shard() }
        self.maxKeysPerShard = max(1, maxKeys / shardCount)
    }

    /// Seconds an empty bucket takes to refill.
    var windowSeconds: Int { max(1, Int((Double(self.burst) / self.perSecond).rounded(.up))) }

    /// How many keys are tracked now.
    var count: Int { self.shards.reduce(0) { total, shard in total + shard.buckets.withLock { $0.count } } }

    func take(key: String, now: ContinuousClock.Instant? = nil) -> Decision {
        let now = now ?? self.clock.now
        let shard = self.shards[Int(UInt(bitPattern: key.hashValue) % UInt(self.shards.count))]
        return shard.buckets.withLock { buckets in
            var bucket: Bucket
            if let existing = buckets[key] {
                bucket = existing
                bucket.tokens = min(Double(self.burst), bucket.tokens + self.elapsedSeconds(from: bucket.updated, to: now) * self.perSecond)
            } else {
                if buckets.count >= self.maxKeysPerShard {
                    self.evict(from: &buckets, now: now)
                }
                bucket = Bucket(tokens: Double(self.burst), updated: now)
            }
            bucket.updated = now
            let allowed = bucket.tokens >= 1
            if allowed {
                bucket.tokens -= 1
            }
            buckets[key] = bucket
            let missing = Double(self.burst) - bucket.tokens
            return Decision(
                allowed: allowed,
                remaining: Int(bucket.tokens.rounded(.down)),
                retryAfterSeconds: allowed ? 0 : max(1, Int(((1 - bucket.tokens) / self.perSecond).rounded(.up))),
                resetSeconds: Int((missing / self.perSecond).rounded(.up))
            )
        }
    }

    private func evict(from buckets: inout [String: Bucket], now: ContinuousClock.Instant) {
        let refillTime = Double(self.burst) / self.perSecond
        let idle = buckets.filter { self.elapsedSeconds(from: $0.value.updated, to: now) >= refillTime }.map(\.key)
        for key in idle {
            buckets[key] = nil
        }
        if buckets.count >= self.maxKeysPerShard, let oldest = buckets.min(by: { $0.value.updated < $1.value.updated })?.key {
            buckets[oldest] = nil
        }
    }

    private func elapsedSeconds(from start: ContinuousClock.Instant, to end: ContinuousClock.Instant) -> Double {
        let elapsed = end - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
