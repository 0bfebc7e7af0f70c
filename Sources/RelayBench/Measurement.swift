/// CPU used by the server (given its pid) and by the bench itself over one measured phase.
struct Measurement {
    struct Usage: Sendable {
        let seconds: Double
        let serverCPUSeconds: Double?
        let benchCPUSeconds: Double
    }

    private let serverPID: Int32?
    private let start = ContinuousClock.now
    private let serverBefore: ProcessStats?
    private let benchBefore: ProcessStats?

    init(serverPID: Int32?) {
        self.serverPID = serverPID
        self.serverBefore = serverPID.flatMap(ProcessStats.read(pid:))
        self.benchBefore = ProcessStats.current
    }

    func finish() -> Usage {
        let elapsed = (ContinuousClock.now - self.start).seconds
        let serverAfter = self.serverPID.flatMap(ProcessStats.read(pid:))
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
