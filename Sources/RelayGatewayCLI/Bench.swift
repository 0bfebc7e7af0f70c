import ArgumentParser
import Foundation
import RelayBench

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Load a running gateway over loopback and measure fan-out, latency, CPU and memory.",
        discussion: """
            Start the gateway first (release build), then e.g.:
              relay-gateway bench --server-pid $(pgrep -f 'relay-gateway serve') --scenario fanout --subscribers 1000
            """
    )

    @Option(help: "Scenarios to run, comma-separated: fanout, rate, idle, publish, health, register, connect, addressed, cluster, cluster-rate.")
    var scenario = "fanout"
    @Option(help: "The gateway's base URL (the listener serving register and publish).")
    var url = "http://127.0.0.1:8000"
    @Option(help: "Path of the register route.") var registerPath = "/register"
    @Option(help: "Path of the publish route.") var publishPath = "/publish"
    @Option(help: "Path of the health route, polled between runs until no connection is left; \"\" to skip.") var healthPath = "/health"
    @Option(help: "Subscribers to connect.") var subscribers = 1000
    @Option(help: "Distinct topics; subscriber i follows topic i mod topics, publish j goes to topic j mod topics.") var topics = 1
    @Option(help: "Publishes (fanout, publish, addressed), or requests (health, register).") var publishes = 2000
    @Option(help: "Publishes in flight, one keep-alive connection each.") var inFlight = 4
    @Option(help: "Message size in bytes.") var size = 64
    @Option(help: "Publishes per second (rate).") var rate = 100
    @Option(help: "Seconds to publish (rate).") var duration = 10.0
    @Option(help: "The gateway's pid, to report its CPU and memory from /proc; several comma-separated (nginx workers) are summed.")
    var serverPID = ""
    @Option(help: "The server under test: relay (this gateway) or nchan (nginx with benchmarks/nchan.conf), to compare on one machine.")
    var target = "relay"
    @Option(
        help:
            """
            The other nodes of a cluster, comma-separated base URLs (cluster scenarios): \
            subscribers are spread over --url and these; publishes go to --url.
            """
    )
    var nodes = ""
    @Option(
        help:
            """
            Extra subscribers that connect, then never read (fanout, rate, cluster scenarios): \
            what stalled readers cost the others. Their deliveries are not expected.
            """
    )
    var stalled = 0
    @Option(
        help:
            """
            Messages per publish request (fanout, publish): above 1, each request is a {"messages": \
            [...]} batch; CPU stays per message delivered (fanout) or published (publish).
            """
    )
    var batch = 1
    @Option(
        help: "Path of the events route (e.g. /events): the connect and idle scenarios open Server-Sent Events streams there instead of WebSockets.")
    var eventsPath: String?
    @Option(help: "Repeat each scenario this many times.") var runs = 1
    @Flag(help: "Print one JSON line per run instead of a table.") var json = false
    @Option(help: "Draw the latency distribution and deliveries/s of the last delivery run (fanout or rate) as an SVG chart into this file.")
    var plot: String?

    func run() async throws {
        raiseOpenFileLimit()
        var settings = Bench.Settings()
        settings.baseURL = self.url
        settings.registerPath = self.registerPath
        settings.publishPath = self.publishPath
        settings.healthPath = self.healthPath.isEmpty ? nil : self.healthPath
        settings.subscribers = self.subscribers
        settings.topics = self.topics
        settings.publishes = self.publishes
        settings.inFlight = self.inFlight
        settings.messageSize = self.size
        settings.rate = self.rate
        settings.duration = .milliseconds(Int(self.duration * 1000))
        settings.serverPIDs = try self.serverPID.split(separator: ",").map { text in
            guard let pid = Int32(text.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--server-pid: not a pid: \(text)") }
            return pid
        }
        guard let target = Bench.Target(rawValue: self.target) else {
            throw ValidationError("unknown target \(self.target); use relay or nchan")
        }
        settings.target = target
        settings.stalled = self.stalled
        guard self.batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        settings.batch = self.batch
        settings.nodes = self.nodes.split(separator: ",").map(String.init)
        settings.eventsPath = self.eventsPath
        let scenarios = try self.scenario.split(separator: ",").map { name in
            guard let scenario = Bench.Scenario(rawValue: String(name)) else {
                throw ValidationError("unknown scenario \(name); use \(Bench.Scenario.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return scenario
        }
        if target == .nchan, scenarios.contains(where: { $0 == .cluster || $0 == .clusterRate }) {
            throw ValidationError("the cluster scenarios need relay-gateway nodes, not --target nchan")
        }
        let bench = Bench(settings: settings) { line in
            FileHandle.standardError.write(Data("  … \(line)\n".utf8))
        }
        if !self.json { print(BenchResult.tableHeader) }
        var plotted: BenchResult?
        for scenario in scenarios {
            for _ in 0..<max(1, self.runs) {
                let result = try await bench.run(scenario)
                print(self.json ? result.jsonLine : result.tableRow)
                if result.series != nil { plotted = result }
            }
        }
        if let path = self.plot {
            guard let result = plotted, let svg = BenchPlot.svg(for: result) else {
                throw ValidationError("--plot needs a fanout or rate run with deliveries")
            }
            try svg.write(toFile: path, atomically: true, encoding: .utf8)
            FileHandle.standardError.write(Data("  … chart written to \(path)\n".utf8))
        }
    }
}
