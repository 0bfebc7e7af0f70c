import Foundation

/// What one scenario measured; printed as a table row or one JSON line.
public struct BenchResult: Sendable, Encodable {
    public let scenario: String
    public let subscribers: Int
    /// Subscribers that never read (`Bench.Settings.stalled`, delivery runs), besides `subscribers`.
    public var stalled = 0
    public let topics: Int
    public let publishes: Int
    /// Messages per publish request (`--batch`).
    public let batch: Int
    public let expected: Int
    public let received: Int
    public let lost: Int
    public let seconds: Double?
    public let deliveriesPerSecond: Double?
    public let latencyMs: LatencySummary?
    public let serverCPUSeconds: Double?
    public let benchCPUSeconds: Double?
    /// Server CPU per delivery (fanout, rate, addressed), per request (health, register), per
    /// message published (publish: per request unless `--batch`) or per connection (connect), in
    /// microseconds.
    public let serverCPUMicroseconds: Double?
    public var serverBytesPerConnection: Double?
    /// The server's resident memory: after the connections (idle), or at the end of the
    /// publishing (delivery scenarios).
    public var serverRSSMiB: Double?
    /// The latency histogram and the delivery rate over time (delivery scenarios), for `--plot`.
    public var series: RunSeries?

    init(scenario: String, settings: Bench.Settings, expected: Int, received: Int, usage: Measurement.Usage?, latency: LatencySummary?) {
        self.scenario = scenario
        let requestsOnly = Bench.Scenario(rawValue: scenario)?.isRequestsOnly ?? false
        self.subscribers = requestsOnly ? 0 : settings.subscribers
        self.topics = settings.topics
        self.publishes = scenario == "rate" ? Int(Double(settings.rate) * settings.duration.seconds) : settings.publishes
        self.batch = max(1, settings.batch)
        self.expected = expected
        self.received = received
        self.lost = max(0, expected - received)
        self.seconds = usage?.seconds
        self.latencyMs = latency
        self.serverCPUSeconds = usage?.serverCPUSeconds
        self.benchCPUSeconds = usage?.benchCPUSeconds
        if let usage, usage.seconds > 0, !requestsOnly, scenario != "idle", scenario != "connect" {
            self.deliveriesPerSecond = Double(received) / usage.seconds
        } else {
            self.deliveriesPerSecond = nil
        }
        // Per request, per connection opened (connect: `received` counts them), or per delivery.
        let units = requestsOnly ? settings.publishes : received
        self.serverCPUMicroseconds = usage?.serverCPUSeconds.flatMap { units > 0 ? $0 * 1e6 / Double(units) : nil }
    }

    public var jsonLine: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    public static let tableHeader =
        "scenario  subs   stall  topics pubs   expected  received  lost  deliv/s    p50 ms  p99 ms  max ms  srv µs/unit  srv CPU s  bench "
        + "CPU s  B/conn  RSS MiB"

    public var tableRow: String {
        func number(_ value: Double?, _ format: String) -> String { value.map { String(format: format, $0) } ?? "-" }
        let columns: [(String, Int)] = [
            (self.scenario, 9), (String(self.subscribers), 6), (String(self.stalled), 6), (String(self.topics), 6), (String(self.publishes), 6),
            (String(self.expected), 9), (String(self.received), 9), (String(self.lost), 5),
            (number(self.deliveriesPerSecond, "%.0f"), 10), (number(self.latencyMs?.p50, "%.2f"), 7),
            (number(self.latencyMs?.p99, "%.2f"), 7), (number(self.latencyMs?.max, "%.2f"), 7),
            (number(self.serverCPUMicroseconds, "%.2f"), 12), (number(self.serverCPUSeconds, "%.2f"), 10),
            (number(self.benchCPUSeconds, "%.2f"), 12), (number(self.serverBytesPerConnection, "%.0f"), 6),
            (number(self.serverRSSMiB, "%.0f"), 7),
        ]
        return columns.map { text, width in text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count + 1) }
            .joined().trimmingCharacters(in: .whitespaces)
    }
}
