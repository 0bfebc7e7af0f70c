import ArgumentParser
import Foundation
import RelayGateway

/// The `relay-gateway` command line (`serve`, `check`, `reload`, `bench`), reusable: a package
/// with plugins of its own runs these same commands with them added, from a three-line
/// `main.swift`:
///
/// ```swift
/// import RelayGatewayCLI
/// import MyPlugins
/// await RelayGatewayCLI.main(adding: MyPlugins.all)
/// ```
public enum RelayGatewayCLI {
    /// Parses the process's arguments and runs the command they name, with the built-in plugins.
    public static func main() async {
        await RelayGatewayCommand.main()
    }

    /// The same, with `plugins` (built with ``Plugins/adding(filters:handlers:services:)``).
    public static func main(plugins: Plugins) async {
        await CommandPlugins.$current.withValue(plugins) {
            await RelayGatewayCommand.main()
        }
    }

    /// The same with these plugins added to the built-in ones; a name that two plugins share
    /// stops it with an error naming both (exit status 2).
    public static func main(adding plugins: PluginList) async {
        do {
            await Self.main(plugins: try Plugins.builtIn.adding(plugins))
        } catch {
            FileHandle.standardError.write(Data("relay-gateway: \(error)\n".utf8))
            exit(2)
        }
    }
}

/// The plugins the commands build gateways with.
enum CommandPlugins {
    @TaskLocal static var current = Plugins.builtIn
}

struct RelayGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay-gateway",
        abstract: "A real-time message relay: publish over REST, subscribe over WebSocket, configured by one YAML file.",
        subcommands: [Serve.self, Check.self, Reload.self, BenchCommand.self],
        defaultSubcommand: Serve.self
    )
}
