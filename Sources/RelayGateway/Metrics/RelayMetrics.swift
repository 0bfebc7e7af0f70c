import NIOCore
import NIOPosix
import Prometheus
import RelayHTTP
import Synchronization

/// What the gateway counts, in its own Prometheus registry (one per gateway), exposed by the
/// `metrics` handler, every metric with its `# HELP` and `# TYPE`. Counters are atomic
/// increments, so counting on the publish path takes no lock; the latency histogram has one
/// series per thread (`thread` label), so its lock is never shared between publishes on different
/// event loops; the gauges are read from the relay when scraped.
public final class RelayMetrics: Sendable {
    /// Why a WebSocket ended, as the `reason` label of `relay_connections_closed_total`.
    enum CloseCause: String, CaseIterable, Sendable {
        case client, unregistered, replaced, shutdown
        case slowConsumer = "slow_consumer"
        case pingTimeout = "ping_timeout"
        case protocolError = "protocol_error"
        /// A reload's config no longer accepts its token or origin.
        case credentialsRevoked = "credentials_revoked"
        /// A reload removed its listener.
        case listenerRemoved = "listener_removed"
        /// Its token expired before the client sent a new one.
        case tokenExpired = "token_expired"
    }

    let registry = PrometheusCollectorRegistry()
    /// Plugin metrics by name, as first made (``makeCounter(name:help:labels:)``).
    let pluginMetricShapes = Mutex<[String: PluginMetricShape]>([:])
    let connectionsOpened: Prometheus.Counter
    private let connectionsClosed: [CloseCause: Prometheus.Counter]
    private let publishes: Prometheus.Counter
    private let deliveries: Prometheus.Counter
    let drops: Prometheus.Counter
    let rateLimited: Prometheus.Counter
    let authFailures: Prometheus.Counter
    private let tlsFailures: [TLSFailure: Prometheus.Counter]
    private let reloads: [Bool: Prometheus.Counter]
    private let lastReloadSuccess: Prometheus.Gauge
    /// One latency series per thread that publishes, created on first use.
    private let enqueueLatency = EnqueueLatency()
    private let connections: Prometheus.Gauge
    private let registrations: Prometheus.Gauge
    /// The log lines ``LogSink/standardOutput`` dropped, caught up with at each scrape.
    private let logLinesDropped: Prometheus.Counter
    private let logLinesDroppedRendered = Mutex(0)
    /// Running totals the `stats` handler reads back (Prometheus counters cannot be read).
    private let publishTotal = Atomic<Int>(0)
    private let deliveryTotal = Atomic<Int>(0)
    /// When this gateway started, for `uptime_seconds`.
    let startedAt = ContinuousClock.now

    public init() {
        let registry = self.registry
        func counter(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> Prometheus.Counter {
            registry.makeCounter(descriptor: Self.descriptor(name, help), labels: labels)
        }
        func gauge(_ name: String, _ help: String) -> Prometheus.Gauge {
            registry.makeGauge(descriptor: Self.descriptor(name, help), labels: [])
        }
        self.connectionsOpened = counter("relay_connections_opened_total", "Subscriber connections opened (WebSocket and Server-Sent Events)")
        self.connectionsClosed = Dictionary(
            uniqueKeysWithValues: CloseCause.allCases.map { cause in
                (cause, counter("relay_connections_closed_total", "Subscriber connections closed, by reason", [("reason", cause.rawValue)]))
            }
        )
        self.publishes = counter("relay_publishes_total", "Messages published")
        self.deliveries = counter("relay_deliveries_total", "Messages handed to subscriber connections")
        self.drops = counter("relay_dropped_messages_total", "Messages dropped: slow consumers, and clients away longer than their bounds")
        self.rateLimited = counter("relay_rate_limited_total", "Requests refused by a rate_limit filter (429)")
        self.authFailures = counter("relay_auth_failures_total", "Requests refused by an auth or jwt filter")
        self.tlsFailures = Dictionary(
            uniqueKeysWithValues: TLSFailure.allCases.map { failure in
                (
                    failure,
                    counter("relay_tls_handshake_failures_total", "TLS connections that never got to HTTP, by reason", [("reason", failure.rawValue)])
                )
            }
        )
        self.reloads = [
            true: counter("relay_config_reloads_total", "Config reloads, applied (success) or refused (failure)", [("result", "success")]),
            false: counter("relay_config_reloads_total", "Config reloads, applied (success) or refused (failure)", [("result", "failure")]),
        ]
        self.lastReloadSuccess = gauge(
            "relay_config_last_reload_success_timestamp_seconds", "When the config was last loaded (start-up or a reload) with success"
        )
        self.lastReloadSuccess.set(Self.unixTime())
        self.connections = gauge("relay_connections", "Live subscriber connections")
        self.registrations = gauge("relay_registrations", "Registered clients")
        self.logLinesDropped = counter("relay_log_lines_dropped_total", "Log lines dropped because the output could not keep up")
    }

    /// A name and its help text; the descriptor joins only its non-empty parts, so the name stays as given.
    static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// Records the time a publish took to look up its recipients and hand them the frame, in the
    /// calling thread's own series.
    func recordPublishEnqueue(_ duration: Duration) {
        self.enqueueLatency.record(duration)
    }

    /// Counts one publish and the recipients it reached.
    func published(recipients: Int) {
        self.publishes.increment()
        self.deliveries.increment(by: Int64(recipients))
        self.publishTotal.add(1, ordering: .relaxed)
        self.deliveryTotal.add(recipients, ordering: .relaxed)
    }

    /// Publishes and deliveries since start.
    var totals: (publishes: Int, deliveries: Int) {
        (self.publishTotal.load(ordering: .relaxed), self.deliveryTotal.load(ordering: .relaxed))
    }

    /// Messages addressed to a disconnected client that its bounds did not keep.
    func droppedWhileAway(_ count: Int) {
        self.drops.increment(by: Int64(count))
    }

    func connectionClosed(_ cause: CloseCause, dropped: Int) {
        self.connectionsClosed[cause]?.increment()
        if dropped > 0 {
            self.drops.increment(by: Int64(dropped))
        }
    }

    /// A config reload, applied or refused.
    func reloaded(success: Bool) {
        self.reloads[success]?.increment()
        if success { self.lastReloadSuccess.set(Self.unixTime()) }
    }

    private static func unixTime() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// A connection to a TLS listener that never got to HTTP.
    func tlsFailed(_ failure: TLSFailure) {
        self.tlsFailures[failure]?.increment()
    }

    /// The Prometheus text exposition, with the gauges read now.
    func render(connections: Int, registrations: Int) -> ByteBuffer {
        self.connections.set(Int64(connections))
        self.registrations.set(Int64(registrations))
        let dropped = LogSink.standardOutput.droppedLines
        self.logLinesDroppedRendered.withLock { rendered in
            if dropped > rendered {
                self.logLinesDropped.increment(by: Int64(dropped - rendered))
                rendered = dropped
            }
        }
        var body = ByteBuffer(bytes: self.registry.emitToBuffer())
        body.writeString(self.enqueueLatency.exposition())
        return body
    }
}
