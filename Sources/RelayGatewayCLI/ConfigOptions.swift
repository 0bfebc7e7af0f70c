import ArgumentParser
import Foundation
import Logging
import RelayConfig
import RelayCore
import RelayGateway

/// The `--config` option shared by the commands, and loading with errors printed once.
struct ConfigOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "The gateway's YAML config file.")
    var config = "config/relay.yaml"

    /// Loads and validates the config and its route table, or prints the problem and exits non-zero.
    /// - Parameter cluster: the backend for the config's `cluster:` section, when serving.
    func loadGateway(logger: Logger, cluster: (@Sendable (GatewayConfig) async throws -> (any ClusterBackend)?)? = nil) async throws -> Gateway {
        let config: GatewayConfig
        let singleNode: Gateway
        do {
            config = try ConfigLoader.load(file: self.config)
            // Everything is validated here, before the database is touched.
            singleNode = try Gateway(config: config, plugins: CommandPlugins.current, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("relay-gateway: config error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        for warning in singleNode.warnings {
            FileHandle.standardError.write(Data("relay-gateway: config warning: \(warning)\n".utf8))
        }
        guard let cluster, config.cluster != nil else { return singleNode }
        let backend: (any ClusterBackend)?
        do {
            backend = try await cluster(config)
        } catch {
            FileHandle.standardError.write(Data("relay-gateway: cluster: \(error)\n".utf8))
            throw ExitCode(3)
        }
        return try Gateway(config: config, plugins: CommandPlugins.current, cluster: backend, logger: logger)
    }
}
