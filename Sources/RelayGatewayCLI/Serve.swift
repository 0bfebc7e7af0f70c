import ArgumentParser
import Foundation
import Logging
import RelayGateway

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start the gateway on the listeners of the config.")

    @OptionGroup var options: ConfigOptions

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(help: "Write the process id here (and the last reload's outcome beside it, in FILE.reload), for `relay-gateway reload`.")
    var pidFile: String?

    func run() async throws {
        raiseOpenFileLimit()
        let level = self.logLevel
        LoggingSystem.bootstrap { label in
            var handler = BufferedLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
        defer { LogSink.standardOutput.flush() }
        let logger = Logger(label: "relay-gateway")
        let gateway = try await self.options.loadGateway(logger: logger) { config in
            try await connectCluster(config, logger: logger)
        }
        let pidFile: PidFile?
        do {
            pidFile = try self.pidFile.map(PidFile.init)
        } catch {
            FileHandle.standardError.write(Data("relay-gateway: \(error)\n".utf8))
            throw ExitCode(2)
        }
        defer { pidFile?.remove() }
        // SIGHUP re-reads the same file (relay-gateway reload sends it).
        try await gateway.run(
            reloadOnSIGHUP: self.options.config,
            onListening: { listener, port in
                logger.info("listening", metadata: ["listener": "\(listener.name)", "address": "\(listener.host):\(port)"])
            },
            onReload: { result in pidFile?.record(result) }
        )
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
