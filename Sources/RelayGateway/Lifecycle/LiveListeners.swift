import RelayHTTP
import ServiceLifecycle
import Synchronization

/// The gateway's listeners as one service: those of the config at start, bound before any
/// serves (one address taken stops the start-up), and those a reload adds or removes while it runs.
final class LiveListeners: Service, Sendable {
    private enum Command: Sendable {
        case serve(HTTPServer, BoundListener)
    }

    private let initial: [(name: String, server: HTTPServer)]
    private let commands: AsyncStream<Command>
    private let continuation: AsyncStream<Command>.Continuation
    private let bound = Mutex<[String: BoundListener]>([:])
    /// Those ``run()`` has started serving.
    private let served = Mutex<Set<ObjectIdentifier>>([])

    /// Binding waits for this: a cluster node listens once its history holds what the cluster
    /// published before it started, so a client resuming there finds it.
    private let ready: Gate

    init(_ initial: [(name: String, server: HTTPServer)], after ready: Gate = Gate(open: true)) {
        self.initial = initial
        self.ready = ready
        (self.commands, self.continuation) = AsyncStream.makeStream(of: Command.self)
    }

    func run() async throws {
        try? await cancelWhenGracefulShutdown { await self.ready.wait() }
        guard !Task.isCancelled, !Task.isShuttingDownGracefully else { return }
        var first: [(HTTPServer, BoundListener)] = []
        do {
            for (name, server) in self.initial {
                let listener = try await server.bind()
                first.append((server, listener))
                self.bound.withLock { $0[name] = listener }
            }
        } catch {
            for (_, listener) in first { listener.close() }
            throw error
        }
        await withDiscardingTaskGroup { group in
            for (server, listener) in first {
                self.served.withLock { _ = $0.insert(ObjectIdentifier(listener)) }
                group.addTask { await server.serve(listener) }
            }
            for await command in self.commands.cancelOnGracefulShutdown() {
                switch command {
                case .serve(let server, let listener):
                    self.served.withLock { _ = $0.insert(ObjectIdentifier(listener)) }
                    group.addTask { await server.serve(listener) }
                }
            }
            self.continuation.finish()
            // Bound by a reload that met the shutdown: never served, so closed here.
            let served = self.served.withLock { $0 }
            for listener in self.bound.withLock({ Array($0.values) }) where !served.contains(ObjectIdentifier(listener)) {
                listener.close()
            }
        }
    }

    /// Opens `server`'s socket without serving it yet (a reload binds every new listener first).
    func bind(_ server: HTTPServer) async throws -> BoundListener {
        try await server.bind()
    }

    /// Starts serving a listener ``bind(_:)`` opened, as `name`; closes it if the gateway is
    /// already shutting down.
    func serve(_ server: HTTPServer, _ listener: BoundListener, as name: String) {
        self.bound.withLock { $0[name] = listener }
        if case .terminated = self.continuation.yield(.serve(server, listener)) {
            listener.close()
        }
    }

    /// Stops the listener named `name`: it accepts no more connections, and the open ones are
    /// told to quiesce.
    func stop(_ name: String) {
        self.bound.withLock { $0.removeValue(forKey: name) }?.stop()
    }
}
