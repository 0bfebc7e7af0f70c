struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out: \(self.what)" }
}

/// Runs `body`, failing with ``TimedOut`` if it takes longer than `limit`. Every network test uses it.
func withTimeout<T: Sendable>(
    _ limit: Duration = .seconds(20),
    _ what: String = "test",
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TimedOut(what: what)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// Polls `condition` until it holds or `limit` passes.
func eventually(
    _ what: String,
    within limit: Duration = .seconds(5),
    _ condition: @escaping @Sendable () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw TimedOut(what: what)
}
