import CoreMetrics
import NIOCore
import Prometheus

/// What the gateway counts, in its own Prometheus registry (one per gateway), exposed by the
/// `metrics` handler. Counters are atomic increments, so counting on the publish path takes no
/// lock; the gauges are read from the relay when scraped.
public final class RelayMetrics: Sendable {
    /// Why a WebSocket ended, as the `reason` label of `relay_connections_closed_total`.
    enum CloseCause: String, CaseIterable, Sendable {
        case client, unregistered, replaced, shutdown
        case slowConsumer = "slow_consumer"
        case pingTimeout = "ping_timeout"
        case protocolError = "protocol_error"
    }

    private let registry = PrometheusCollectorRegistry()
    let connectionsOpened: CoreMetrics.Counter
    private let connectionsClosed: [CloseCause: CoreMetrics.Counter]
    let publishes: CoreMetrics.Counter
    let deliveries: CoreMetrics.Counter
    let drops: CoreMetrics.Counter
    let rateLimited: CoreMetrics.Counter
    let authFailures: CoreMetrics.Counter
    /// Time to look up the recipients and hand them the frame, per publish.
    let publishEnqueue: CoreMetrics.Timer
    private let connections: Prometheus.Gauge
    private let registrations: Prometheus.Gauge

    public init() {
        var factory = PrometheusMetricsFactory(registry: self.registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(10), .microseconds(50), .microseconds(100), .microseconds(500),
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(100),
        ]
        self.connectionsOpened = Counter(label: "relay_connections_opened_total", factory: factory)
        self.connectionsClosed = Dictionary(
            uniqueKeysWithValues: CloseCause.allCases.map { cause in
                (cause, Counter(label: "relay_connections_closed_total", dimensions: [("reason", cause.rawValue)], factory: factory))
            }
        )
        self.publishes = Counter(label: "relay_publishes_total", factory: factory)
        self.deliveries = Counter(label: "relay_deliveries_total", factory: factory)
        self.drops = Counter(label: "relay_dropped_messages_total", factory: factory)
        self.rateLimited = Counter(label: "relay_rate_limited_total", factory: factory)
        self.authFailures = Counter(label: "relay_auth_failures_total", factory: factory)
        self.publishEnqueue = Timer(label: "relay_publish_enqueue_seconds", factory: factory)
        self.connections = self.registry.makeGauge(name: "relay_connections", help: "Live WebSocket connections")
        self.registrations = self.registry.makeGauge(name: "relay_registrations", help: "Registered clients")
    }

    func connectionClosed(_ cause: CloseCause, dropped: Int) {
        self.connectionsClosed[cause]?.increment()
        if dropped > 0 {
            self.drops.increment(by: dropped)
        }
    }

    /// The Prometheus text exposition, with the gauges read now.
    func render(connections: Int, registrations: Int) -> ByteBuffer {
        self.connections.set(Int64(connections))
        self.registrations.set(Int64(registrations))
        return ByteBuffer(bytes: self.registry.emitToBuffer())
    }
}
