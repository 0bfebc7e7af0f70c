import RelayCore
import ServiceLifecycle

/// Drops history entries past `relay.history.ttl` (and idle streams) about once a second, as the
/// history's clock counts time, so memory goes back down after a burst even if nobody reads the
/// topics again.
struct HistoryTrimmer: Service {
    let history: TopicHistory<PublishedMessage>

    var interval: Duration {
        let ttl = self.history.settings.ttl
        return ttl > .zero ? min(max(ttl / 10, .milliseconds(100)), .seconds(1)) : .seconds(1)
    }

    func run() async throws {
        await ClockRounds.run(every: self.interval, clock: self.history.clock) {
            self.history.trim()
        }
    }
}
