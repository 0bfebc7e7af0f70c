import NIOCore
import NIOPosix
import Synchronization

/// `relay-gateway bench`: loads a running gateway over loopback as users would and measures it.
///
/// Scenarios:
/// - `fanout`: subscribers connected, publishes as fast as `inFlight` allows; deliveries/s,
///   latency, server CPU per delivery.
/// - `rate`: publishes at a fixed rate for a duration; latency at that load, loss.
/// - `idle`: idle connections (WebSockets, or event streams with `eventsPath`); server memory per connection.
/// - `publish`: publishes to a topic nobody follows; server CPU per request.
/// - `health`, `register`: those requests alone, `publishes` of them; server CPU per request.
/// - `connect`: `subscribers` clients each register and open their WebSocket (what a reconnect
///   storm costs); server CPU per connection.
/// - `addressed`: every subscriber its own user id, each publish addressed to a random one of
///   them (the seed's `user_id`); deliveries/s and server CPU per delivery.
/// - `cluster`, `cluster-rate`: `fanout` and `rate` with the subscribers spread over the cluster's
///   nodes (`nodes`), publishing to the first: cross-node throughput and latency.
///
/// The same scenarios run against nchan (`Target.nchan`), to compare side by side on one machine.
public struct Bench: Sendable {
    public enum Scenario: String, CaseIterable, Sendable {
        case fanout, rate, idle, publish, health, register, connect, addressed, cluster
        case clusterRate = "cluster-rate"

        /// Scenarios that send requests only, costed per request.
        var isRequestsOnly: Bool { [.publish, .health, .register].contains(self) }
    }

    /// The server under test.
    public enum Target: String, CaseIterable, Sendable {
        /// relay-gateway: `register`, then the WebSocket URL it returns; `publish` with a JSON body.
        case relay
        /// An nginx with nchan (`benchmarks/nchan.conf`): WebSockets on `/sub/TOPIC`, publishes
        /// posted raw to `/pub/TOPIC`; the answer's `subscribers` counts the recipients.
        case nchan
    }

    public struct Settings: Sendable {
        public var target = Target.relay
        public var baseURL = "http://127.0.0.1:8000"
        public var registerPath = "/register"
        /// Used between runs to wait until the previous run's connections are gone; nil skips it.
        public var healthPath: String? = "/health"
        public var publishPath = "/publish"
        public var subscribers = 1000
        public var topics = 1
        public var publishes = 2000
        public var inFlight = 4
        public var messageSize = 64
        public var rate = 100
        public var duration: Duration = .seconds(10)
        /// The server's processes (several for nginx's workers): CPU and memory are their sum.
        public var serverPIDs: [Int32] = []
        /// The other nodes of a cluster (base URLs like `baseURL`), for the cluster scenarios:
        /// subscriber `i` connects to node `i % (nodes.count + 1)`, the first being `baseURL`.
        public var nodes: [String] = []
        /// Extra subscribers (delivery scenarios) that connect, subscribe like the others, then
        /// never read again: what stalled readers cost everyone else. Their deliveries are not
        /// expected; the server's `slow_consumer` policy deals with them.
        public var stalled = 0
        /// Messages per publish request (fanout, publish): above 1, each request is a
        /// `{"messages": [...]}` batch of that many (relay-gateway only).
        public var batch = 1
        /// The path of the events route (`/events`): the connect scenario's subscribers open
        /// their Server-Sent Events stream there instead of a WebSocket (relay-gateway only).
        public var eventsPath: String?
        public var timeout: Duration = .seconds(300)

        public init() {}
    }

    public let settings: Settings
    private let progress: @Sendable (String) -> Void
    private let group = MultiThreadedEventLoopGroup.singleton

    public init(settings: Settings, progress: @escaping @Sendable (String) -> Void) {
        self.settings = settings
        self.progress = progress
    }

    public func run(_ scenario: Scenario) async throws -> BenchResult {
        try await self.awaitIdleServer()
        if self.settings.eventsPath != nil && scenario != .connect && scenario != .idle {
            throw BenchError(message: "--events-path works with the connect and idle scenarios only")
        }
        switch scenario {
        case .fanout: return try await self.fanout()
        case .rate: return try await self.fixedRate()
        case .idle: return try await self.idle()
        case .publish: return try await self.publishOnly()
        case .health, .register: return try await self.requestsOnly(scenario)
        case .connect: return try await self.connectOnly()
        case .addressed: return try await self.addressed()
        case .cluster, .clusterRate:
            guard !self.settings.nodes.isEmpty else {
                throw BenchError(message: "the cluster scenarios need the other nodes' URLs (--nodes)")
            }
            return try await scenario == .cluster ? self.fanout(spread: true) : self.fixedRate(spread: true)
        }
    }

    // MARK: Scenarios

    private func fanout(spread: Bool = false) async throws -> BenchResult {
        try await self.deliveryRun(
            spread ? "cluster" : "fanout", publishers: self.settings.inFlight, publishes: self.settings.publishes, spread: spread
        ) { publishers, counter in
            try await self.publish(count: self.settings.publishes, over: publishers, counter: counter)
        }
    }

    private func fixedRate(spread: Bool = false) async throws -> BenchResult {
        let total = Int(Double(self.settings.rate) * self.settings.duration.seconds)
        return try await self.deliveryRun(
            spread ? "cluster-rate" : "rate", publishers: max(1, self.settings.inFlight), publishes: total, spread: spread
        ) { publishers, counter in
            let interval = Duration.seconds(1.0 / Double(max(1, self.settings.rate)))
            let start = ContinuousClock.now
            return try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<total {
                    try await Task.sleep(until: start + interval * index, clock: .continuous)
                    let connection = publishers[index % publishers.count]
                    group.addTask { try await self.publishOne(index, on: connection) }
                    if index % max(1, self.settings.rate) == 0 {
                        self.progress("rate: published \(index)/\(total), received \(counter.count)")
                    }
                }
                return try await group.reduce(0, +)
            }
        }
    }

    /// Connects the subscribers, measures `publishing` (which returns the recipients the server
    /// reported) until every delivery arrived, and tears everything down.
    ///
    /// - Parameter spread: subscribers over every node; then the deliveries expected are counted
    ///   here (a cluster counts its recipients from the database, which learns of connections
    ///   a moment after they open).
    private func deliveryRun(
        _ scenario: String,
        publishers count: Int,
        publishes publishCount: Int,
        spread: Bool = false,
        publishing: (_ publishers: [HTTPConnection], _ counter: DeliveryCounter) async throws -> Int
    ) async throws -> BenchResult {
        let counter = DeliveryCounter()
        let subscribers = try await self.connectSubscribers(self.settings.subscribers, counter: counter, spread: spread)
        let stalled = try await self.connectSubscribers(self.settings.stalled, counter: DeliveryCounter())
        for subscriber in stalled {
            try await subscriber.channel.setOption(ChannelOptions.autoRead, value: false)
        }
        let publishers = try await self.connections(count)
        let measurement = Measurement(serverPIDs: self.settings.serverPIDs)
        counter.markStart()
        let reported = try await publishing(publishers, counter)
        // Counted here when the server's count includes the stalled subscribers (or, in a
        // cluster, may miss connections the database has not heard of yet).
        let expected = spread || !stalled.isEmpty ? self.deliveries(ofPublishes: publishCount) : reported
        let received = try await self.awaitDeliveries(expected, counter: counter)
        let usage = measurement.finish()
        let residentAtEnd = ProcessStats.read(pids: self.settings.serverPIDs)?.residentBytes
        for subscriber in subscribers { await subscriber.flushSamples() }
        await Self.close(publishers)
        await Self.close(subscribers)
        await Self.close(stalled)
        let latencies = counter.sortedLatencies()
        var result = BenchResult(
            scenario: scenario, settings: self.settings, expected: expected, received: received,
            usage: usage, latency: LatencySummary(sortedMicroseconds: latencies)
        )
        result.series = RunSeries(sortedMicroseconds: latencies, deliveriesPerSecond: counter.deliveryRate())
        result.serverRSSMiB = residentAtEnd.map { Double($0) / 1_048_576 }
        result.stalled = stalled.count
        return result
    }

    /// Deliveries `count` publishes make: publish `j` goes to topic `j % topics`, which subscriber
    /// `i` follows when `i % topics` is the same.
    private func deliveries(ofPublishes count: Int) -> Int {
        let topics = max(1, self.settings.topics)
        let subscribers = self.settings.subscribers
        return (0..<topics).reduce(0) { total, topic in
            let publishes = count / topics + (topic < count % topics ? 1 : 0)
            let followers = subscribers / topics + (topic < subscribers % topics ? 1 : 0)
            return total + publishes * followers
        }
    }

    private func idle() async throws -> BenchResult {
        let before = ProcessStats.read(pids: self.settings.serverPIDs)
        let counter = DeliveryCounter()
        let subscribers = try await self.connectSubscribers(self.settings.subscribers, counter: counter)
        try await Task.sleep(for: .seconds(1))
        let after = ProcessStats.read(pids: self.settings.serverPIDs)
        await Self.close(subscribers)
        var result = BenchResult(scenario: "idle", settings: self.settings, expected: 0, received: 0, usage: nil, latency: nil)
        if let before, let after {
            result.serverBytesPerConnection = Double(after.residentBytes - before.residentBytes) / Double(subscribers.count)
            result.serverRSSMiB = Double(after.residentBytes) / 1_048_576
        }
        return result
    }

    private func publishOnly() async throws -> BenchResult {
        let publishers = try await self.connections(self.settings.inFlight)
        let measurement = Measurement(serverPIDs: self.settings.serverPIDs)
        let recipients = try await self.publish(count: self.settings.publishes, over: publishers, counter: nil, topic: "bench-nobody")
        let usage = measurement.finish()
        await Self.close(publishers)
        return BenchResult(scenario: "publish", settings: self.settings, expected: recipients, received: 0, usage: usage, latency: nil)
    }

    /// `publishes` health or register requests, `inFlight` at a time.
    private func requestsOnly(_ scenario: Scenario) async throws -> BenchResult {
        guard self.settings.target == .relay else { throw BenchError(message: "nchan has no \(scenario.rawValue) route") }
        let connections = try await self.connections(self.settings.inFlight)
        let next = Dispenser()
        let count = self.settings.publishes
        let measurement = Measurement(serverPIDs: self.settings.serverPIDs)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for connection in connections {
                group.addTask {
                    while true {
                        let index = next.take()
                        guard index < count else { return }
                        let answer =
                            scenario == .health
                            ? try await connection.request(.GET, self.settings.healthPath ?? "/health")
                            : try await connection.request(.POST, self.settings.registerPath, json: #"{"user_id": \#(index)}"#)
                        guard answer.status == 200 else {
                            throw BenchError(message: "\(scenario.rawValue) answered \(answer.status): \(answer.body)")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let usage = measurement.finish()
        await Self.close(connections)
        return BenchResult(scenario: scenario.rawValue, settings: self.settings, expected: 0, received: 0, usage: usage, latency: nil)
    }

    /// `subscribers` clients register and open their WebSocket (or event stream); measured until all are open.
    private func connectOnly() async throws -> BenchResult {
        let measurement = Measurement(serverPIDs: self.settings.serverPIDs)
        let subscribers = try await self.connectSubscribers(self.settings.subscribers, counter: DeliveryCounter(), subscribing: false)
        let usage = measurement.finish()
        await Self.close(subscribers)
        return BenchResult(scenario: "connect", settings: self.settings, expected: 0, received: subscribers.count, usage: usage, latency: nil)
    }

    /// Publishes to one subscriber each: subscriber `i` is user `i`, so a publish to user `u` on
    /// `u`'s topic reaches exactly one connection.
    private func addressed() async throws -> BenchResult {
        guard self.settings.target == .relay else { throw BenchError(message: "nchan has no addressed publishes") }
        let count = self.settings.publishes
        let users = max(1, self.settings.subscribers)
        return try await self.deliveryRun("addressed", publishers: self.settings.inFlight, publishes: count) { publishers, counter in
            let next = Dispenser()
            return try await withThrowingTaskGroup(of: Int.self) { group in
                for connection in publishers {
                    group.addTask {
                        var recipients = 0
                        var random = SystemRandomNumberGenerator()
                        while true {
                            let index = next.take()
                            guard index < count else { return recipients }
                            let user = Int.random(in: 0..<users, using: &random)
                            recipients += try await self.publishOne(index, on: connection, userID: user)
                        }
                    }
                }
                return try await group.reduce(0, +)
            }
        }
    }

    // MARK: Steps

    /// Waits until the server reports no live connections (the previous run's are closed), so
    /// they neither receive nor cost anything in this run.
    private func awaitIdleServer() async throws {
        guard let path = self.settings.healthPath, self.settings.target == .relay else {
            return try await Task.sleep(for: .milliseconds(500))
        }
        let connection = try await self.connections(1)[0]
        defer { Task { await connection.close() } }
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let answer = try await connection.request(.GET, path)
            guard answer.status == 200, let connections = Self.intField("connections", in: answer.body) else { return }
            if connections == 0 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    private func connections(_ count: Int) async throws -> [HTTPConnection] {
        let (host, port, _) = try BenchURL.split(self.settings.baseURL)
        var connections: [HTTPConnection] = []
        for _ in 0..<max(1, count) {
            connections.append(try await HTTPConnection.connect(host: host, port: port, group: self.group))
        }
        return connections
    }

    /// Registers and connects `count` subscribers, subscriber `i` to topic `bench-(i % topics)`.
    private func connectSubscribers(
        _ count: Int, counter: DeliveryCounter, spread: Bool = false, subscribing: Bool = true
    ) async throws -> [BenchConnection] {
        guard count > 0 else { return [] }
        let nodes = spread ? [self.settings.baseURL] + self.settings.nodes : []
        let registrars = try await self.connections(8)
        let next = Dispenser()
        let connected = try await withThrowingTaskGroup(of: [BenchConnection].self) { group in
            for registrar in registrars {
                group.addTask {
                    var mine: [BenchConnection] = []
                    while true {
                        let index = next.take()
                        guard index < count else { return mine }
                        let topic = "bench-\(index % max(1, self.settings.topics))"
                        if self.settings.target == .nchan {
                            let url = try BenchURL.rehome("ws://_:0/sub/\(topic)", to: self.settings.baseURL)
                            mine.append(try await BenchConnection.open(url: url, topics: nil, counter: counter, group: self.group))
                            continue
                        }
                        let answer = try await registrar.request(.POST, self.settings.registerPath, json: #"{"user_id": \#(index)}"#)
                        guard answer.status == 200, var url = Self.stringField("url", in: answer.body) else {
                            throw BenchError(message: "register answered \(answer.status): \(answer.body)")
                        }
                        if !nodes.isEmpty {
                            url = try BenchURL.rehome(url, to: nodes[index % nodes.count])
                        }
                        if let eventsPath = self.settings.eventsPath {
                            mine.append(try await BenchConnection.openEventStream(url: url, eventsPath: eventsPath, group: self.group))
                        } else {
                            mine.append(
                                try await BenchConnection.open(url: url, topics: subscribing ? [topic] : nil, counter: counter, group: self.group)
                            )
                        }
                        if index > 0 && index % 1000 == 0 {
                            self.progress("connected \(index)/\(count) subscribers")
                        }
                    }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        await Self.close(registrars)
        return connected
    }

    /// Publishes `count` messages, `inFlight` at a time; returns the recipients the server reported.
    private func publish(count: Int, over publishers: [HTTPConnection], counter: DeliveryCounter?, topic: String? = nil) async throws -> Int {
        let next = Dispenser()
        let reporter = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(1))
                self.progress("published \(min(count, next.taken * max(1, self.settings.batch)))/\(count), received \(counter?.count ?? 0)")
            }
        }
        defer { reporter.cancel() }
        return try await withThrowingTaskGroup(of: Int.self) { group in
            for connection in publishers {
                group.addTask {
                    var recipients = 0
                    let batch = max(1, self.settings.batch)
                    while true {
                        // Request `k` carries messages k * batch ..< (k + 1) * batch.
                        let first = next.take() * batch
                        guard first < count else { return recipients }
                        recipients +=
                            batch == 1
                            ? try await self.publishOne(first, on: connection, topic: topic)
                            : try await self.publishBatch(first..<min(count, first + batch), on: connection, topic: topic)
                    }
                }
            }
            return try await group.reduce(0, +)
        }
    }

    /// The messages `indices` in one `{"messages": [...]}` request; returns their recipients.
    private func publishBatch(_ indices: Range<Int>, on connection: HTTPConnection, topic: String?) async throws -> Int {
        guard self.settings.target == .relay else { throw BenchError(message: "--batch needs --target relay") }
        let items = indices.map { index in
            let name = topic ?? "bench-\(index % max(1, self.settings.topics))"
            return #"{"topic":"\#(name)","message":"\#(self.message(index))"}"#
        }
        let answer = try await connection.request(.POST, self.settings.publishPath, json: #"{"messages":["# + items.joined(separator: ",") + "]}")
        guard answer.status == 200, let recipients = Self.intField("recipients", in: answer.body) else {
            throw BenchError(message: "publish answered \(answer.status): \(answer.body)")
        }
        return recipients
    }

    /// Message `index`: its number and send time (for latency), padded to the message size.
    private func message(_ index: Int) -> String {
        var message = "\(index) \(monotonicNanoseconds()) "
        if message.utf8.count < self.settings.messageSize {
            message += String(repeating: "x", count: self.settings.messageSize - message.utf8.count)
        }
        return message
    }

    /// - Parameter userID: addressed to that user (on the user's topic) when given.
    private func publishOne(_ index: Int, on connection: HTTPConnection, topic: String? = nil, userID: Int? = nil) async throws -> Int {
        let topic = topic ?? "bench-\((userID ?? index) % max(1, self.settings.topics))"
        let message = self.message(index)
        let answer: HTTPConnection.Answer
        let recipients: Int?
        switch self.settings.target {
        case .relay:
            let user = userID.map { #","user_id":\#($0)"# } ?? ""
            answer = try await connection.request(.POST, self.settings.publishPath, json: #"{"topic":"\#(topic)"\#(user),"message":"\#(message)"}"#)
            recipients = answer.status == 200 ? Self.intField("recipients", in: answer.body) : nil
        case .nchan:
            answer = try await connection.request(.POST, "/pub/\(topic)", body: message, contentType: "text/plain", accept: "application/json")
            recipients = (200..<300).contains(answer.status) ? Self.intField("subscribers", in: answer.body) : nil
        }
        guard let recipients else {
            throw BenchError(message: "publish answered \(answer.status): \(answer.body)")
        }
        return recipients
    }

    /// Waits until `expected` deliveries arrived, or until none arrived for 3 s (the rest is loss).
    private func awaitDeliveries(_ expected: Int, counter: DeliveryCounter) async throws -> Int {
        let deadline = ContinuousClock.now + self.settings.timeout
        var last = counter.count
        var lastProgress = ContinuousClock.now
        while counter.count < expected && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(2))
            let now = counter.count
            if now != last {
                last = now
                lastProgress = .now
            } else if ContinuousClock.now - lastProgress > .seconds(3) {
                break
            }
        }
        return counter.count
    }

    private static func close(_ connections: [HTTPConnection]) async {
        for connection in connections { await connection.close() }
    }

    private static func close(_ subscribers: [BenchConnection]) async {
        for subscriber in subscribers { try? await subscriber.channel.close() }
    }

    static func stringField(_ name: String, in json: String) -> String? {
        guard let key = json.range(of: "\"\(name)\":\"") else { return nil }
        let rest = json[key.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    static func intField(_ name: String, in json: String) -> Int? {
        guard let key = json.range(of: "\"\(name)\":") else { return nil }
        return Int(json[key.upperBound...].drop { $0 == " " }.prefix { $0.isNumber })
    }
}

/// Hands out 0, 1, 2, ... to concurrent workers.
final class Dispenser: Sendable {
    private let counter = Atomic<Int>(0)

    func take() -> Int { self.counter.add(1, ordering: .relaxed).oldValue }

    var taken: Int { self.counter.load(ordering: .relaxed) }
}

struct BenchError: Error, CustomStringConvertible {
    let message: String
    var description: String { self.message }
}

extension Duration {
    var seconds: Double {
        Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18
    }
}
