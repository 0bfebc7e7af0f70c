import Foundation

/// CPU time and resident memory of a process, read from /proc (Linux).
struct ProcessStats: Sendable {
    /// utime + stime, in seconds.
    let cpuSeconds: Double
    /// VmRSS, in bytes.
    let residentBytes: Int

    static func read(pid: Int32) -> ProcessStats? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let afterName = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: afterName)...].split(separator: " ")
        guard fields.count > 13, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let rssLine = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        let rssKiB = rssLine.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? 0
        return ProcessStats(cpuSeconds: (utime + stime) / ticks, residentBytes: rssKiB * 1024)
    }

    /// The sum over several processes (a server with worker processes); nil if one is missing.
    static func read(pids: [Int32]) -> ProcessStats? {
        guard !pids.isEmpty else { return nil }
        var cpu = 0.0
        var resident = 0
        for pid in pids {
            guard let stats = self.read(pid: pid) else { return nil }
            cpu += stats.cpuSeconds
            resident += stats.residentBytes
        }
        return ProcessStats(cpuSeconds: cpu, residentBytes: resident)
    }

    static var current: ProcessStats? { self.read(pid: getpid()) }
}
