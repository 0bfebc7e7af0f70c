import ArgumentParser
import Logging
import RelayGateway

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate the config and print the route table it generates.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let gateway = try await self.options.loadGateway(logger: Logger(label: "relay-gateway", factory: { _ in SwiftLogNoOpLogHandler() }))
        print(gateway.routeTable)
        print("config OK: \(self.options.config)")
    }
}
