import NIOCore
import RelayHTTP
import ServiceLifecycle
import Synchronization

/// Whether the gateway is shutting down: from then on every request is answered 503.
public final class DrainState: Sendable {
    private let draining = Atomic<Bool>(false)

    public init() {}

    public var isDraining: Bool { self.draining.load(ordering: .relaxed) }

    func begin() {
        self.draining.store(true, ordering: .relaxed)
    }
}

/// Flips the ``DrainState`` when graceful shutdown starts. It is the last service of the group,
/// so it hears the signal before the listeners stop and drain their connections.
struct DrainWatcher: Service {
    let state: DrainState

    func run() async throws {
        try? await gracefulShutdown()
        self.state.begin()
    }
}

/// Answers every request 503 once the gateway is draining (requests still arriving on open
/// connections while they close); placed after the listener's filters, so the log shows it.
struct DrainingGuard: RequestFilter {
    let state: DrainState

    func handle(_ request: Request, context: RequestContext, next: any Responder) throws -> Reply {
        guard !self.state.isDraining else {
            // The connection may have opened after the server's quiesce signal went out; tell it
            // now, so it closes once this answer is written instead of waiting for more requests.
            context.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
            throw HTTPError(.serviceUnavailable, "server shutting down", headers: [.connection: "close"])
        }
        return next.respond(to: request, context: context)
    }
}
