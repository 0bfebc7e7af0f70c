import RelayConfig
import Testing

/// `relay.history` and `relay.flush_window`.
@Suite struct HistoryAndFlushSettingsTests {
    @Test func historyIsOffByDefault() throws {
        let relay = try parse(minimalListeners).relay
        #expect(!relay.history.isEnabled)
        #expect(relay.history.size == 0)
        #expect(relay.history.ttl == .seconds(120))
        #expect(relay.history.maxBytes == 64 << 20)
        #expect(relay.flushWindow == .milliseconds(5))
    }

    @Test func historyAndFlushWindowAreRead() throws {
        let relay = try parse("relay:\n  flush_window: 0\n  history: {size: 100, ttl: 30s, max_bytes: 1MiB}\n" + minimalListeners).relay
        #expect(relay.history.isEnabled && relay.history.size == 100)
        #expect(relay.history.ttl == .seconds(30))
        #expect(relay.history.maxBytes == 1 << 20)
        #expect(relay.flushWindow == .zero)
    }

    @Test func badHistoryValuesNameTheirKeyAndLine() throws {
        let unknown = try parseError("relay:\n  history:\n    size: 10\n    keep: 5\n" + minimalListeners)
        #expect(unknown.line == 4 && unknown.keyPath == "relay.history")
        #expect(unknown.message.contains("unknown key \"keep\""))
        let negative = try parseError("relay:\n  history: {size: -1}\n" + minimalListeners)
        #expect(negative.keyPath == "relay.history.size" && negative.line == 2)
        let notAMapping = try parseError("relay:\n  history: 100\n" + minimalListeners)
        #expect(notAMapping.keyPath == "relay.history")
        let window = try parseError("relay:\n  flush_window: 1s\n" + minimalListeners)
        #expect(window.description == "relay.yaml:2: relay.flush_window: must be at most 100ms")
    }
}
