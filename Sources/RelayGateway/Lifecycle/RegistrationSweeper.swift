import RelayCore
import ServiceLifecycle

/// Forgets registrations that stayed unconnected past `relay.registration_ttl`, a few times per TTL.
struct RegistrationSweeper: Service {
    let relay: Relay<WebSocketSubscriber>

    var interval: Duration {
        min(max(self.relay.settings.registrationTTL / 10, .milliseconds(100)), .seconds(5))
    }

    func run() async throws {
        guard self.relay.settings.registrationTTL > .zero else {
            // Nothing to sweep, but a service that returns early would stop the whole group.
            try? await gracefulShutdown()
            return
        }
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: self.interval)
                self.relay.expireIdleRegistrations()
            }
        }
    }
}
