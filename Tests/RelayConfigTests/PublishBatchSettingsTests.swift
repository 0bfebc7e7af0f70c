import RelayConfig
import Testing

/// `relay.max_batch`, `relay.idempotency_window` and `relay.idempotency_max_keys`.
@Suite struct PublishBatchSettingsTests {
    @Test func defaults() throws {
        let relay = try parse(minimalListeners).relay
        #expect(relay.maxBatch == 100)
        #expect(relay.idempotencyWindow == .seconds(120))
        #expect(relay.idempotencyMaxKeys == 100_000)
    }

    @Test func valuesAreRead() throws {
        let relay = try parse("relay:\n  max_batch: 500\n  idempotency_window: 0\n  idempotency_max_keys: 10\n" + minimalListeners).relay
        #expect(relay.maxBatch == 500 && relay.idempotencyWindow == .zero && relay.idempotencyMaxKeys == 10)
    }

    @Test func badValuesNameTheirKeyAndLine() throws {
        let zero = try parseError("relay:\n  max_batch: 0\n" + minimalListeners)
        #expect(zero.keyPath == "relay.max_batch" && zero.line == 2)
        let huge = try parseError("relay:\n  max_batch: 10001\n" + minimalListeners)
        #expect(huge.keyPath == "relay.max_batch")
        let long = try parseError("relay:\n  idempotency_window: 2d\n" + minimalListeners)
        #expect(long.description == "relay.yaml:2: relay.idempotency_window: must be at most 24h")
        let keys = try parseError("relay:\n  idempotency_max_keys: 0\n" + minimalListeners)
        #expect(keys.keyPath == "relay.idempotency_max_keys")
    }

    @Test func aClusterKeepsItsOutboxAtLeastTheWindow() throws {
        let config = try parse("relay:\n  idempotency_window: 10m\ncluster:\n  url: postgres://r@h/d\n  node_id: a\n" + minimalListeners)
        #expect(config.cluster?.retention == .seconds(600))
        let short = try parseError(
            "relay:\n  idempotency_window: 10m\ncluster:\n  url: postgres://r@h/d\n  node_id: a\n  retention: 1m\n" + minimalListeners)
        #expect(short.keyPath == "cluster.retention" && short.line == 6)
        #expect(short.message.contains("relay.idempotency_window"))
    }
}
