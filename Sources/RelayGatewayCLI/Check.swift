import ArgumentParser
import Foundation
import Logging
import RelayConfig
import RelayGateway

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate the config and print the route table it generates, or (--diff OLD) what a reload from OLD would change."
    )

    @OptionGroup var options: ConfigOptions

    @Option(help: "The config now running: print what a reload from it to --config would change, or why it would be refused.")
    var diff: String?

    func run() async throws {
        let logger = Logger(label: "relay-gateway", factory: { _ in SwiftLogNoOpLogHandler() })
        let gateway = try await self.options.loadGateway(logger: logger)
        guard let diff else {
            print(gateway.routeTable)
            print("config OK: \(self.options.config)")
            return
        }
        let running: Gateway
        do {
            running = try Gateway(config: try ConfigLoader.load(file: diff), plugins: CommandPlugins.current, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("relay-gateway: config error in --diff: \(error)\n".utf8))
            throw ExitCode(2)
        }
        do {
            print(try await running.reloader.reload(to: gateway.config))
        } catch {
            FileHandle.standardError.write(Data("relay-gateway: a reload from \(diff) would be refused: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
