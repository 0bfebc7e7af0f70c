/// `GET /stats` (not in the default table): a small JSON view of the gateway for dashboards and
/// the `console` page: connections, registrations, the busiest topics and running totals.
enum StatsHandler {
    /// Topics listed, busiest first; `topic_count` still counts them all.
    static let topicLimit = 100

    struct TopicCount: Encodable {
        let topic: String
        let subscribers: Int
    }

    struct Answer: Encodable {
        let connections: Int
        let registrations: Int
        let topic_count: Int
        let topics: [TopicCount]
        let publishes_total: Int
        let deliveries_total: Int
        let uptime_seconds: Double
    }

    static let plugin = HandlerPlugin(name: "stats", defaultMethod: .get) { environment in
        { _, _ in
            let counts = environment.relay.counts
            let subscribers = environment.relay.topicSubscriberCounts()
            let busiest =
                subscribers
                .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .prefix(Self.topicLimit)
                .map { TopicCount(topic: $0.key, subscribers: $0.value) }
            let totals = environment.metrics.totals
            let uptime = ContinuousClock.now - environment.metrics.startedAt
            return .now(
                JSONResponse.make(
                    .ok,
                    Answer(
                        connections: counts.connections,
                        registrations: counts.registrations,
                        topic_count: subscribers.count,
                        topics: busiest,
                        publishes_total: totals.publishes,
                        deliveries_total: totals.deliveries,
                        uptime_seconds: Double(uptime.components.seconds) + Double(uptime.components.attoseconds) / 1e18
                    ),
                    headers: [.cacheControl: "no-store"]
                ))
        }
    }
}
