import ArgumentParser
import Logging
import RelayGateway

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start the gateway on the listeners of the config.")

    @OptionGroup var options: ConfigOptions

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

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
        try await gateway.run { listener, port in
            logger.info("listening", metadata: ["listener": "\(listener.name)", "address": "\(listener.host):\(port)"])
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
