import RelayCore
import ServiceLifecycle

/// Runs a cluster backend's follower for the gateway's lifetime: every publish on any node
/// reaches this node's subscribers through it.
struct ClusterFollower: Service {
    let backend: any ClusterBackend
    let delivery: NodeDelivery
    /// How far back to read the bus at start, to fill the history (its ttl; zero without history).
    let replayingSince: Duration

    func run() async throws {
        // It only ends by cancellation: the backend rides out database outages itself.
        try? await cancelWhenGracefulShutdown {
            try await self.backend.run(delivering: self.delivery, replayingSince: self.replayingSince)
        }
    }
}
