import RelayGateway

/// `hmac_signature_refused_total{filter, reason}`: one counter per reason, all made when the
/// filter is built, so each shows in `/metrics` (at 0) before anything is refused.
struct RefusalCounters: Sendable {
    static let name = "hmac_signature_refused_total"
    static let help = "Requests an hmac_signature filter refused, by reason"

    private let counters: [SignatureRefusal.Reason: MetricCounter]

    init(metrics: RelayMetrics, filter: String) throws(PluginMetricError) {
        var counters: [SignatureRefusal.Reason: MetricCounter] = [:]
        for reason in SignatureRefusal.Reason.allCases {
            counters[reason] = try metrics.makeCounter(
                name: Self.name, help: Self.help, labels: [("filter", filter), ("reason", reason.rawValue)]
            )
        }
        self.counters = counters
    }

    func count(_ reason: SignatureRefusal.Reason) {
        self.counters[reason]?.increment()
    }
}
