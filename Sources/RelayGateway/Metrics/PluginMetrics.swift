import Prometheus
import Synchronization

/// A plugin metric that Prometheus could not hold beside the others: the registry would stop
/// the process on it, so it is refused here with a reason.
public struct PluginMetricError: Error, CustomStringConvertible, Sendable {
    public let name: String
    public let reason: String

    public var description: String { "metric \"\(self.name)\": \(self.reason)" }
}

/// A plugin's counter (`increment()`, `increment(by:)`), gauge (`set(_:)`) and histogram
/// (`recordNanoseconds(_:)`), from the gateway's Prometheus registry.
public typealias MetricCounter = Prometheus.Counter
public typealias MetricGauge = Prometheus.Gauge
public typealias MetricHistogram = Prometheus.DurationHistogram

/// Plugins' own metrics, in the gateway's registry, so that the `metrics` handler shows them
/// beside the gateway's. Asking twice for one metric (a filter rebuilt by a reload) gives the
/// same metric.
///
/// ```swift
/// let rejected = try environment.metrics.makeCounter(
///     name: "hmac_rejected_total", help: "Requests whose signature did not match", labels: [("filter", declaration.name)]
/// )
/// rejected.increment()
/// ```
extension RelayMetrics {
    public func makeCounter(name: String, help: String, labels: [(String, String)] = []) throws(PluginMetricError) -> MetricCounter {
        try self.checkPluginMetric(name, kind: "counter", help: help, labels: labels)
        let descriptor = Self.descriptor(name, help)
        return labels.isEmpty ? self.registry.makeCounter(descriptor: descriptor) : self.registry.makeCounter(descriptor: descriptor, labels: labels)
    }

    public func makeGauge(name: String, help: String, labels: [(String, String)] = []) throws(PluginMetricError) -> MetricGauge {
        try self.checkPluginMetric(name, kind: "gauge", help: help, labels: labels)
        let descriptor = Self.descriptor(name, help)
        return labels.isEmpty ? self.registry.makeGauge(descriptor: descriptor) : self.registry.makeGauge(descriptor: descriptor, labels: labels)
    }

    /// A histogram of durations, in seconds, with these bucket bounds.
    public func makeDurationHistogram(
        name: String, help: String, buckets: [Duration], labels: [(String, String)] = []
    ) throws(PluginMetricError) -> MetricHistogram {
        try self.checkPluginMetric(name, kind: "histogram \(buckets)", help: help, labels: labels)
        let descriptor = Self.descriptor(name, help)
        return labels.isEmpty
            ? self.registry.makeDurationHistogram(descriptor: descriptor, buckets: buckets)
            : self.registry.makeDurationHistogram(descriptor: descriptor, labels: labels, buckets: buckets)
    }

    /// Refuses what the registry would trap on: the gateway's own `relay_` names, a name that is
    /// not a Prometheus name, or one name used with another kind, help text or label names.
    private func checkPluginMetric(_ name: String, kind: String, help: String, labels: [(String, String)]) throws(PluginMetricError) {
        guard !name.hasPrefix("relay_") else {
            throw PluginMetricError(name: name, reason: "names starting relay_ are the gateway's own; use a prefix of the plugin's")
        }
        guard help.contains(where: { !$0.isWhitespace }) else {
            throw PluginMetricError(name: name, reason: "give it help text: every metric is exposed with its # HELP line")
        }
        guard Self.isMetricName(name), labels.allSatisfy({ Self.isMetricName($0.0) && !$0.0.contains(":") }) else {
            throw PluginMetricError(name: name, reason: "metric and label names are letters, digits and _ (not starting with a digit)")
        }
        let names = labels.map(\.0)
        guard Set(names).count == names.count else {
            throw PluginMetricError(name: name, reason: "a label name is given twice")
        }
        if let reserved = names.first(where: { $0 == "le" || $0 == "quantile" || $0.hasPrefix("__") }) {
            throw PluginMetricError(name: name, reason: "label \"\(reserved)\" is reserved by Prometheus")
        }
        let shape = PluginMetricShape(kind: kind, help: help, labelNames: names.sorted())
        let earlier = self.pluginMetricShapes.withLock { shapes in
            if let earlier = shapes[name] { return earlier }
            shapes[name] = shape
            return shape
        }
        guard earlier == shape else {
            throw PluginMetricError(
                name: name,
                reason: "already made as a \(earlier.kind) with labels [\(earlier.labelNames.joined(separator: ", "))] and help \"\(earlier.help)\""
            )
        }
    }

    private static func isMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "_"), UInt8(ascii: ":"):
                true
            default: false
            }
        }
    }
}

/// What a plugin metric's name was first made as.
struct PluginMetricShape: Equatable, Sendable {
    let kind: String
    let help: String
    let labelNames: [String]
}
