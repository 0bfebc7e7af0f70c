/// CPU used by the server (given its pids) and by the bench itself over one measured phase.
struct Measurement {
    struct Usage: Sendable {
        let seconds: Double
        let serverCPUSeconds: Double?
        let benchCPUSeconds: Double
    }

    private let serverPIDs: [Int32]
    private let start = ContinuousClock.now
    private let serverBefore: ProcessStats?
    private let benchBefore: ProcessStats?

    init(serverPIDs: [Int32]) {
        self.serverPIDs = serverPIDs
        self.serverBefore = ProcessStats.read(pids: serverPIDs)
        self.benchBefore = ProcessStats.current
    }

    func finish() -> Usage {
        let elapsed = (ContinuousClock.now - self.start).seconds
        let serverAfter = ProcessStats.read(pids: self.serverPIDs)
        let benchAfter = ProcessStats.current
        var server: Double?
        if let before = self.serverBefore, let after = serverAfter {
            server = after.cpuSeconds - before.cpuSeconds
        }
        return Usage(
            seconds: elapsed,
            serverCPUSeconds: server,
            benchCPUSeconds: (benchAfter?.cpuSeconds ?? 0) - (self.benchBefore?.cpuSeconds ?? 0)
        )
    }
}
