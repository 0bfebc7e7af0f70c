import Foundation
import NIOCore
import RelayBench
import Testing

@testable import RelayGateway

#if canImport(FoundationXML)
import FoundationXML
#endif

/// `relay-gateway bench` against a live gateway, with small numbers: it must count every delivery.
@Suite(.heavy) struct BenchTests {
    @Test func scenariosCountEveryDeliveryAndReportServerUsage() async throws {
        try await RunningGateway.with(yaml: RunningGateway.seedYAML()) { gateway in
            var settings = Bench.Settings()
            settings.baseURL = gateway.url("")
            settings.subscribers = 10
            settings.topics = 2
            settings.publishes = 20
            settings.rate = 20
            settings.duration = .milliseconds(500)
            settings.serverPIDs = [ProcessInfo.processInfo.processIdentifier]
            let bench = Bench(settings: settings) { _ in }

            let fanout = try await bench.run(.fanout)
            #expect(fanout.expected == 100)  // 20 publishes, each to the 5 subscribers of its topic
            #expect(fanout.received == 100)
            #expect(fanout.lost == 0)
            #expect(fanout.latencyMs?.samples == 100)
            #expect(fanout.serverCPUSeconds != nil)

            // Stalled readers: subscribed like the others, never read; not expected, not lost.
            var stalledSettings = settings
            stalledSettings.stalled = 4
            let stalled = try await Bench(settings: stalledSettings) { _ in }.run(.fanout)
            #expect(stalled.stalled == 4)
            #expect(stalled.expected == 100)
            #expect(stalled.received == 100)
            #expect(stalled.serverRSSMiB != nil)

            let rate = try await bench.run(.rate)
            #expect(rate.expected == 50)
            #expect(rate.received == 50)
            // --plot: the histogram holds every delivery, and the chart is well-formed SVG.
            let series = try #require(rate.series)
            #expect(series.latencyBuckets.reduce(0) { $0 + $1.count } == 50)
            #expect(series.deliveriesPerSecond.reduce(0, +) * series.sliceSeconds == 50)
            let svg = try #require(BenchPlot.svg(for: rate))
            #expect(svg.hasPrefix("<svg") && svg.contains("p99"))
            #expect(XMLParser(data: Data(svg.utf8)).parse(), "not well-formed XML")

            let publish = try await bench.run(.publish)
            #expect(publish.expected == 0)
            #expect(publish.serverCPUMicroseconds != nil)

            let idle = try await bench.run(.idle)
            #expect(idle.serverBytesPerConnection != nil)
            #expect(gateway.gateway.relay.counts.registrations == 44)
        }
    }

    /// Thousands of subscribers per event loop: their flushes go in slices (`FlushBatch`), and
    /// every message still reaches every subscriber. Connecting them is most of the work (about
    /// 5,000 handshakes in a debug build beside the other suites), so the deadline grows with them.
    @Test func slicedFlushesDeliverEverything() async throws {
        let subscribers = (FlushBatch.slicedAbove + 500) * System.coreCount
        try await RunningGateway.with(yaml: RunningGateway.seedYAML(), limit: .seconds(60) + .milliseconds(40) * subscribers) { gateway in
            var settings = Bench.Settings()
            settings.baseURL = gateway.url("")
            settings.subscribers = subscribers
            settings.publishes = 30
            let slicedBefore = FlushBatch.slicedFlushes.load(ordering: .relaxed)
            let fanout = try await Bench(settings: settings) { _ in }.run(.fanout)
            #expect(fanout.expected == settings.subscribers * 30)
            #expect(fanout.received == fanout.expected)
            #expect(FlushBatch.slicedFlushes.load(ordering: .relaxed) > slicedBefore)
        }
    }
}
