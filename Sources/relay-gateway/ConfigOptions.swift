import ArgumentParser
import Foundation
import Logging
import RelayConfig
import RelayGateway

/// The `--config` option shared by the commands, and loading with errors printed once.
struct ConfigOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "The gateway's YAML config file.")
    var config = "config/relay.yaml"

    /// Loads and validates the config and its route table, or prints the problem and exits non-zero.
    func loadGateway(logger: Logger) throws -> Gateway {
        do {
            let config = try ConfigLoader.load(file: self.config)
            return try Gateway(config: config, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("relay-gateway: config error: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}
