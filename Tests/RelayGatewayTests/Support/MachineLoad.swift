import Testing

/// Keeps the suite's heaviest tests away from the tests that watch the server's clock.
///
/// All suites share one process and, here, 2 cores. A `.heavy` test (thousands of connections,
/// a browser, 100,000 routes) can starve the event loops and the test's own tasks for seconds,
/// and a `.timed` test checks what the server does within a window: closes within its close
/// timeout, a request during shutdown. So a heavy test runs only while no timed or other heavy
/// test does; timed tests run beside each other and beside everything else. Their assertions
/// stay as they are: only the company changes.
struct MachineLoad: TestTrait, SuiteTrait, TestScoping {
    enum Kind: Sendable {
        case heavy
        case timed
    }

    let kind: Kind

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        await LoadGate.shared.enter(self.kind)
        do {
            try await function()
        } catch {
            await LoadGate.shared.leave(self.kind)
            throw error
        }
        await LoadGate.shared.leave(self.kind)
    }
}

extension Trait where Self == MachineLoad {
    /// Loads the machine: runs alone among heavy and timed tests.
    static var heavy: MachineLoad { MachineLoad(kind: .heavy) }
    /// Measures the server against the clock: never beside a heavy test.
    static var timed: MachineLoad { MachineLoad(kind: .timed) }
}

/// A first-come, first-served readers-writer gate: timed tests share it, a heavy test holds it
/// alone. A waiting heavy test lets no later timed test pass it, so neither kind starves.
private actor LoadGate {
    static let shared = LoadGate()

    private var timedRunning = 0
    private var heavyRunning = false
    private var waiting: [(kind: MachineLoad.Kind, continuation: CheckedContinuation<Void, Never>)] = []

    func enter(_ kind: MachineLoad.Kind) async {
        if self.waiting.isEmpty && self.admits(kind) {
            self.admit(kind)
            return
        }
        await withCheckedContinuation { self.waiting.append((kind, $0)) }
    }

    func leave(_ kind: MachineLoad.Kind) {
        switch kind {
        case .heavy: self.heavyRunning = false
        case .timed: self.timedRunning -= 1
        }
        while let next = self.waiting.first, self.admits(next.kind) {
            self.waiting.removeFirst()
            self.admit(next.kind)
            next.continuation.resume()
        }
    }

    private func admits(_ kind: MachineLoad.Kind) -> Bool {
        switch kind {
        case .heavy: !self.heavyRunning && self.timedRunning == 0
        case .timed: !self.heavyRunning
        }
    }

    private func admit(_ kind: MachineLoad.Kind) {
        switch kind {
        case .heavy: self.heavyRunning = true
        case .timed: self.timedRunning += 1
        }
    }
}
