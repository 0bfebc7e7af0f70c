import ArgumentParser

@main
struct RelayGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay-gateway",
        abstract: "A real-time message relay: publish over REST, subscribe over WebSocket, configured by one YAML file.",
        subcommands: [Serve.self, Check.self, Reload.self, BenchCommand.self],
        defaultSubcommand: Serve.self
    )
}
