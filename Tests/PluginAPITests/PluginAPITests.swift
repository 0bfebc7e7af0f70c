import Foundation
import RelayGateway
import RelayGatewayTesting
import Synchronization
import Testing

// Of the gateway's modules, imports RelayGateway and RelayGatewayTesting only (no @testable):
// everything here is what a plugin outside the repo can write and test with.

/// `type: tenant`: requires `X-Tenant` to be one of `allowed`, and hands it on as an attribute.
struct TenantFilter: RequestFilter {
    enum TenantKey: RequestAttributeKey { typealias Value = String }

    static let plugin = FilterPlugin(type: "tenant") { declaration, environment throws(ConfigError) in
        let options = declaration.options
        try options.rejectUnknownKeys(allowed: ["type", "allowed", "max_length"])
        let allowed = try options.required("allowed").stringList()
        let maxLength = try options.node("max_length")?.int(in: 1...64) ?? 16
        let refused: MetricCounter
        do {
            refused = try environment.metrics.makeCounter(
                name: "tenant_refused_total", help: "Requests without an allowed tenant", labels: [("filter", declaration.name)]
            )
        } catch {
            throw declaration.location.error("\(error)")
        }
        return TenantFilter(allowed: Set(allowed), maxLength: maxLength, refused: refused)
    }

    let allowed: Set<String>
    let maxLength: Int
    let refused: MetricCounter

    func handle(_ request: Request, context: RequestContext, next: any Responder) throws -> Reply {
        guard let tenant = request.headers[HTTPField.Name("X-Tenant")!], tenant.count <= self.maxLength, self.allowed.contains(tenant) else {
            self.refused.increment()
            throw HTTPError(.forbidden, "unknown tenant")
        }
        var context = context
        context.attributes[TenantKey.self] = tenant
        context.identity = RequestIdentity(userID: 7)
        return next.respond(to: request, context: context)
    }
}

/// `handler: whoami`: answers the tenant and user the filters found, on a single node at once and
/// through `Reply.async` when asked to wait.
enum WhoAmIHandler {
    static let plugin = HandlerPlugin(name: "whoami", defaultMethod: .get) { environment in
        { request, context in
            let tenant = context.attributes[TenantFilter.TenantKey.self] ?? "none"
            let user = context.identity?.userID.map(String.init) ?? "none"
            let body = #"{"tenant":"\#(tenant)","user":\#(user)}"#
            guard request.queryValue("wait") != nil else {
                return .now(.json(.ok, ByteBuffer(string: body)))
            }
            return .async(on: context.eventLoop) {
                await Task.yield()
                return .json(.ok, ByteBuffer(string: body))
            }
        }
    }
}

/// A long-running service: counts its ticks (one at start, then one each 10 s of the gateway's
/// clock), and says when it stopped.
final class Ticks: Sendable {
    let count = Atomic<Int>(0)
    let stopped = Atomic<Bool>(false)

    var plugin: ServicePlugin {
        ServicePlugin(name: "ticker") { environment in
            defer { self.stopped.store(true, ordering: .relaxed) }
            let published = try environment.metrics.makeCounter(name: "ticker_ticks_total", help: "Ticks")
            while true {
                self.count.add(1, ordering: .relaxed)
                published.increment()
                _ = try await environment.bus.publish(topic: "ticks", userID: nil, message: "tick")
                try await environment.clock.sleep(for: .seconds(10))
            }
        }
    }
}

let config = """
    listeners:
      - name: public
        host: 127.0.0.1
        port: 0
        routes:
          - { path: /whoami, handler: whoami, filters: [acme_only] }
          - { path: /metrics, handler: metrics }
    filters:
      acme_only: { type: tenant, allowed: [acme, globex], max_length: 8 }
    """

@Suite struct PluginAPITests {
    @Test func aUserFilterHandlerAndServiceServeThroughALiveGateway() async throws {
        let ticks = Ticks()
        // A one-off job that ends at once must not end the gateway.
        let oneOff = ServicePlugin(name: "one_off") { _ in }
        let plugins = try Plugins.builtIn.adding(filters: [TenantFilter.plugin], handlers: [WhoAmIHandler.plugin], services: [ticks.plugin, oneOff])
        let clock = ManualClock()
        try await TestGateway.with(yaml: config, plugins: plugins, clock: clock) { gateway in
            func get(_ path: String, tenant: String?) async throws -> (status: Int, body: String) {
                let answer = try await gateway.request(.get, path, headers: tenant.map { [("X-Tenant", $0)] } ?? [])
                return (answer.status, answer.body)
            }

            #expect(try await get("/whoami", tenant: "acme") == (200, #"{"tenant":"acme","user":7}"#))
            #expect(try await get("/whoami?wait=1", tenant: "globex") == (200, #"{"tenant":"globex","user":7}"#))
            let refused = try await get("/whoami", tenant: "initech")
            #expect(refused.status == 403)
            #expect(refused.body == #"{"error":"unknown tenant"}"#)
            #expect(try await get("/whoami", tenant: nil).status == 403)

            // The service ticked once at start; 10 s of its clock make it tick again.
            // Waiting on the clock: the ticker's sleep and the gateway's registration sweeper.
            try await eventually("the first tick, then the ticker asleep") { ticks.count.load(ordering: .relaxed) == 1 && clock.pending == 2 }
            try await clock.advance(by: .seconds(10))
            try await eventually("the second tick") { ticks.count.load(ordering: .relaxed) == 2 }
            let metrics = try await get("/metrics", tenant: nil).body
            #expect(metrics.contains(#"tenant_refused_total{filter="acme_only"} 2"#))
            #expect(metrics.contains("ticker_ticks_total"))
        }
        let stopped = ticks.stopped.load(ordering: .relaxed)
        #expect(stopped, "the service stops with the gateway")
    }

    @Test func twoPluginsOfOneNameAreRefusedNamingBoth() throws {
        let clash = FilterPlugin(type: "cors") { _, _ throws(ConfigError) in fatalError("never built") }
        #expect {
            _ = try Plugins.builtIn.adding(filters: [clash])
        } throws: { error in
            let text = "\(error)"
            return text.contains(#"two filter plugins are named "cors""#) && text.contains("RelayGateway/") && text.contains("PluginAPITests/")
        }
        let handler = HandlerPlugin(name: "publish", defaultMethod: .post) { _ in { _, _ in .now(.json(.ok, ByteBuffer())) } }
        #expect(throws: PluginConflict.self) { _ = try Plugins.builtIn.adding(handlers: [handler]) }
    }

    @Test func optionsAreCheckedWithTheSameLocatedErrors() throws {
        let plugins = try Plugins.builtIn.adding(filters: [TenantFilter.plugin], handlers: [WhoAmIHandler.plugin])
        let bad = config.replacingOccurrences(of: "max_length: 8", with: "max_length: 99")
        #expect {
            _ = try Gateway(
                config: try ConfigLoader.parse(yaml: bad, file: "plugins.yaml", environment: [:]), plugins: plugins,
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
            )
        } throws: { error in
            "\(error)" == "plugins.yaml:9: filters.acme_only.max_length: must be between 1 and 64, got 99"
        }
        // Without the plugin the type is unknown, and the error lists what is known.
        #expect {
            _ = try Gateway(
                config: try ConfigLoader.parse(yaml: config, file: "plugins.yaml", environment: [:]),
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
            )
        } throws: { error in
            "\(error)".contains(#"unknown filter type "tenant""#)
        }
    }
}

/// Polls `condition` until it holds, or fails past `limit`.
func eventually(_ what: String, within limit: Duration = .seconds(5), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut(what: what) }
        try await Task.sleep(for: .milliseconds(10))
    }
}

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out: \(self.what)" }
}
