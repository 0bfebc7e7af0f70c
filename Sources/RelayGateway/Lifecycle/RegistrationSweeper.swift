import RelayCore
import ServiceLifecycle

/// Forgets registrations that stayed unconnected past `relay.registration_ttl`, a few times per
/// TTL, as the relay's clock counts time.
struct RegistrationSweeper: Service {
    let relay: Relay<SubscriberConnection>

    /// A tenth of the TTL, within 100 ms and 5 s; 5 s without a TTL (a reload may set one).
    var interval: Duration {
        let ttl = self.relay.settings.registrationTTL
        guard ttl > .zero else { return .seconds(5) }
        return min(max(ttl / 10, .milliseconds(100)), .seconds(5))
    }

    func run() async throws {
        await ClockRounds.run(every: self.interval, clock: self.relay.clock) {
            self.relay.expireIdleRegistrations()
        }
    }
}
