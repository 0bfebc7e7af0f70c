import Logging
import RelayConfig
import RelayCore
import RelayPostgres

/// Connects the backend the config's `cluster:` section names; nil when it has none.
@Sendable func connectCluster(_ config: GatewayConfig, logger: Logger) async throws -> (any ClusterBackend)? {
    guard let cluster = config.cluster else { return nil }
    switch cluster.backend {
    case .postgres:
        var settings = PostgresCluster.Settings(url: try PostgresURL(cluster.url), nodeID: cluster.nodeID)
        settings.pollInterval = cluster.pollInterval
        settings.retention = cluster.retention
        settings.timeout = cluster.timeout
        settings.registrationTTL = config.relay.registrationTTL
        settings.idempotencyWindow = config.relay.idempotencyWindow
        let backend = try await PostgresCluster.connect(settings, logger: logger)
        logger.info("cluster joined", metadata: ["node": "\(cluster.nodeID)", "epoch": "\(backend.epoch)"])
        return backend
    }
}
