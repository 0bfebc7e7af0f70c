import Logging
import RelayConfig
import RelayCore
import ServiceLifecycle

/// A long-running task that starts with the gateway and stops with it: a plugin's poller, a
/// periodic publish, a cache refresher. `run` is started once the gateway's services start, and
/// cancelled when the gateway shuts down (a SIGTERM, or the task running the gateway being
/// cancelled); it should return or throw `CancellationError` then. It may also return earlier
/// (a one-off job): the gateway goes on. Any other error it throws stops the gateway, as a
/// built-in service's would.
///
/// ```swift
/// let heartbeat = ServicePlugin(name: "heartbeat") { environment in
///     while !Task.isCancelled {
///         _ = try await environment.bus.publish(topic: "heartbeat", userID: nil, message: "tick")
///         try await environment.clock.sleep(for: .seconds(10))
///     }
/// }
/// ```
public struct ServicePlugin: NamedPlugin {
    public let name: String
    public let origin: String
    public let run: @Sendable (ServiceEnvironment) async throws -> Void

    public init(name: String, origin: String = #fileID, run: @escaping @Sendable (ServiceEnvironment) async throws -> Void) {
        self.name = name
        self.origin = origin
        self.run = run
    }
}

/// What a service plugin runs with.
public struct ServiceEnvironment: Sendable {
    /// The config the gateway started with.
    public let config: GatewayConfig
    /// Where publishes go: this node's fan-out, or a cluster's bus.
    public let bus: any MessageBus
    /// Where the plugin makes its own metrics (``RelayMetrics/makeCounter(name:help:labels:)``).
    public let metrics: RelayMetrics
    public let logger: Logger
    /// The gateway's clock: a service that waits between rounds can wait on it
    /// (`try await environment.clock.sleep(for: .seconds(10))`), so a test moves its time.
    public let clock: any GatewayClock
}

/// A ``ServicePlugin`` as one of the gateway's services.
struct PluginService: Service, CustomStringConvertible {
    let plugin: ServicePlugin
    let environment: ServiceEnvironment

    /// What ServiceLifecycle logs for it: its name, never its environment (the config's secrets).
    var description: String { "plugin service \(self.plugin.name)" }

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await self.plugin.run(self.environment)
            }
        } catch is CancellationError {
            // Stopped with the gateway: that is how a service ends.
        }
    }
}
