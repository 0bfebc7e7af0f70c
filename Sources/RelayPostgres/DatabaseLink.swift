import Logging
import NIOCore
import PostgresNIO
import RelayCore
import Synchronization

/// The database could not be used; nothing was done. Its description is safe to show to clients.
public struct ClusterUnavailable: Error, CustomStringConvertible {
    public let description: String
}

/// One connection to the database, opened on first use and reopened after it breaks.
///
/// While the database is away, callers fail at once with ``ClusterUnavailable`` (after one
/// attempt per backoff period, at most every 2 s) instead of queueing up or spinning; every
/// operation has a deadline, after which the connection is closed so nothing hangs on a silent peer.
final class DatabaseLink: Sendable {
    private struct State {
        var connection: PostgresConnection?
        var connecting: Task<PostgresConnection, any Error>?
        var retryAt: ContinuousClock.Instant
        var backoff = Duration.milliseconds(100)
        var lastFailure = "database unreachable"
        var nextID = 0
        var attempts = 0
    }

    let url: PostgresURL
    let name: String
    private let logger: Logger
    /// What the backoff is measured with.
    private let clock: any GatewayClock
    private let state: Mutex<State>

    init(url: PostgresURL, name: String, logger: Logger, clock: any GatewayClock = SystemClock.system) {
        self.url = url
        self.name = name
        self.logger = logger
        self.clock = clock
        self.state = Mutex(State(retryAt: clock.now))
    }

    /// Runs `body` on the connection; closes it if `body` takes longer than `timeout`.
    /// Errors from the database become ``ClusterUnavailable`` (the details are logged).
    func run<T: Sendable>(timeout: Duration, _ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await self.connection()
        let timedOut = Atomic<Bool>(false)
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            timedOut.store(true, ordering: .relaxed)
            try? await connection.close()
        }
        defer { watchdog.cancel() }
        do {
            return try await body(connection)
        } catch {
            if connection.isClosed {
                self.forget(connection)
            }
            if timedOut.load(ordering: .relaxed) {
                throw ClusterUnavailable(description: "database did not answer within \(timeout)")
            }
            if let error = error as? ClusterUnavailable { throw error }
            self.logger.warning("database error", metadata: ["link": "\(self.name)", "error": "\(String(reflecting: error))"])
            throw ClusterUnavailable(description: connection.isClosed ? "database connection lost" : "database error")
        }
    }

    /// The open connection, opening one if there is none and the backoff allows.
    func connection() async throws -> PostgresConnection {
        enum Next {
            case ready(PostgresConnection)
            case wait(Task<PostgresConnection, any Error>)
            case refuse(String)
        }
        let next: Next = self.state.withLock { state in
            if let connection = state.connection, !connection.isClosed {
                return .ready(connection)
            }
            state.connection = nil
            if let connecting = state.connecting {
                return .wait(connecting)
            }
            guard self.clock.now >= state.retryAt else { return .refuse(state.lastFailure) }
            state.nextID += 1
            state.attempts += 1
            let id = state.nextID
            let task = Task { try await self.open(id: id) }
            state.connecting = task
            return .wait(task)
        }
        switch next {
        case .ready(let connection):
            return connection
        case .refuse(let reason):
            throw ClusterUnavailable(description: reason)
        case .wait(let task):
            return try await task.value
        }
    }

    private func open(id: Int) async throws -> PostgresConnection {
        do {
            let connection = try await PostgresConnection.connect(configuration: self.url.connectionConfiguration, id: id, logger: self.logger)
            self.state.withLock { state in
                state.connection = connection
                state.connecting = nil
                state.backoff = .milliseconds(100)
            }
            self.logger.info("database connected", metadata: ["link": "\(self.name)"])
            return connection
        } catch {
            let reason = "database unreachable at \(self.url.host):\(self.url.port)"
            let backoff = self.state.withLock { state in
                state.connecting = nil
                state.lastFailure = reason
                state.retryAt = self.clock.now + state.backoff
                defer { state.backoff = min(state.backoff * 2, .seconds(2)) }
                return state.backoff
            }
            self.logger.warning(
                "database connection failed; next attempt in \(backoff)", metadata: ["link": "\(self.name)", "error": "\(String(reflecting: error))"])
            throw ClusterUnavailable(description: reason)
        }
    }

    /// Connection attempts made so far.
    var connectionAttempts: Int { self.state.withLock { $0.attempts } }

    private func forget(_ connection: PostgresConnection) {
        self.state.withLock { state in
            if state.connection === connection {
                state.connection = nil
            }
        }
    }

    /// Closes the connection, if open.
    func close() async {
        let connection = self.state.withLock { state in
            defer { state.connection = nil }
            return state.connection
        }
        try? await connection?.close()
    }
}
