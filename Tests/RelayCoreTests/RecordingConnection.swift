import Synchronization

@testable import RelayCore

/// A test implementation of `RelayConnection` that records what the relay hands it.
final class RecordingConnection: RelayConnection {
    typealias Message = String

    private struct State {
        var messages: [String] = []
        var closeReasons: [CloseReason] = []
    }

    let name: String
    private let state = Mutex(State())

    init(_ name: String = "") {
        self.name = name
    }

    func send(_ message: String) {
        self.state.withLock { $0.messages.append(message) }
    }

    func close(_ reason: CloseReason) {
        self.state.withLock { $0.closeReasons.append(reason) }
    }

    var messages: [String] { self.state.withLock { $0.messages } }
    var closeReasons: [CloseReason] { self.state.withLock { $0.closeReasons } }
    var isClosed: Bool { !self.closeReasons.isEmpty }
}

typealias TestRelay = Relay<RecordingConnection>

extension Relay where Connection == RecordingConnection {
    /// A relay with the given settings, defaulting to the seed defaults.
    static func make(
        defaultTopics: Set<String> = ["cats"],
        ttl: Duration = .seconds(600),
        rules: TopicRules = TopicRules()
    ) -> TestRelay {
        TestRelay(settings: .init(defaultTopics: defaultTopics, registrationTTL: ttl, topicRules: rules))
    }

    /// Registers a client for `userID` and attaches a fresh connection; returns both.
    func connectedClient(userID: Int, name: String = "") -> (id: ClientID, connection: RecordingConnection) {
        let registration = self.register(userID: userID)
        let connection = RecordingConnection(name)
        self.attach(connection, to: registration.id)
        return (registration.id, connection)
    }
}
