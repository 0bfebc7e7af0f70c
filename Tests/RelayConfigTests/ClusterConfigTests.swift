import RelayConfig
import Testing

/// The `cluster:` section.
@Suite struct ClusterConfigTests {
    @Test func absentMeansOneNodeInMemory() throws {
        #expect(try parse(minimalListeners).cluster == nil)
    }

    @Test func valuesAndDefaultsAreRead() throws {
        let cluster = try #require(
            try parse(
                "cluster:\n  backend: postgres\n  url: postgres://relay@127.0.0.1:5432/relay\n  node_id: a\n  poll_interval: 100ms\n"
                    + minimalListeners
            ).cluster
        )
        #expect(cluster.backend == .postgres)
        #expect(cluster.url == "postgres://relay@127.0.0.1:5432/relay")
        #expect(cluster.nodeID == "a")
        #expect(cluster.pollInterval == .milliseconds(100))
        #expect(cluster.retention == .seconds(300))
        #expect(cluster.timeout == .seconds(2))
    }

    @Test func retentionFollowsALongerHistory() throws {
        let config = try parse("relay:\n  history: {size: 10, ttl: 10m}\ncluster: {url: \"postgres://r@h/d\", node_id: a}\n" + minimalListeners)
        #expect(config.cluster?.retention == .seconds(600))
        let short = try parseError(
            "relay:\n  history: {size: 10, ttl: 10m}\ncluster:\n  url: postgres://r@h/d\n  node_id: a\n  retention: 1m\n" + minimalListeners)
        #expect(short.keyPath == "cluster.retention" && short.line == 6)
        #expect(short.message.contains("relay.history.ttl"))
    }

    @Test func badValuesNameTheirKeyAndLine() throws {
        let missing = try parseError("cluster:\n  url: postgres://r@h/d\n" + minimalListeners)
        #expect(missing.keyPath == "cluster" && missing.message.contains("node_id"))
        let scheme = try parseError("cluster:\n  url: mysql://r@h/d\n  node_id: a\n" + minimalListeners)
        #expect(scheme.keyPath == "cluster.url" && scheme.line == 2)
        let backend = try parseError("cluster:\n  backend: redis\n  url: postgres://r@h/d\n  node_id: a\n" + minimalListeners)
        #expect(backend.keyPath == "cluster.backend" && backend.line == 2)
        let poll = try parseError("cluster: {url: \"postgres://r@h/d\", node_id: a, poll_interval: 1ms}\n" + minimalListeners)
        #expect(poll.keyPath == "cluster.poll_interval")
        let unknown = try parseError("cluster: {url: \"postgres://r@h/d\", node_id: a, nodes: 3}\n" + minimalListeners)
        #expect(unknown.message.contains("unknown key \"nodes\""))
    }
}
