import Foundation
import Testing

/// The console page in a real browser: headless Chromium driven by Selenium
/// (`Browser/console_browser_test.py`) registers, subscribes, receives a message published with
/// curl, changes topics and publishes from the page, under the `cors`, `auth` and `rate_limit`
/// filters, and leaves a screenshot in `.build/test-artifacts/browser/` (`http/`, and `https/` for
/// the same steps on TLS listeners).
///
/// It needs `chromium`, `chromedriver` and Python's `selenium` (`scripts/test` installs them);
/// without them it is skipped, naming what is missing (see ``Prerequisite``).
@Suite(.heavy) struct ConsoleBrowserTests {
    static let script = Program.packageRoot.appendingPathComponent("Tests/RelayGatewayTests/Browser/console_browser_test.py")
    static let artifacts = Program.packageRoot.appendingPathComponent(".build/test-artifacts/browser")

    /// A public listener with the console, registration and WebSockets (token, rate limit), and
    /// an internal one with publish and stats (token, CORS for the page's cross-origin fetches).
    static let yaml = """
        tokens: {app: "${APP_TOKEN}"}
        filters:
          cors: {type: cors, allow_origins: ["*"], allow_headers: [Content-Type, Authorization]}
          apps: {type: auth, tokens: [app]}
          register_limit: {type: rate_limit, rate: 30/m, burst: 10, key: ip}
        listeners:
          - name: public
            host: 127.0.0.1
            port: 0
            filters: [cors]
            routes:
              - {path: /console, handler: console}
              - {path: /register, handler: register, filters: [register_limit, apps]}
              - {path: "/ws/{client_id}", handler: subscribe, filters: [apps]}
              - {path: "/events/{client_id}", handler: events, filters: [apps]}
          - name: internal
            host: 127.0.0.1
            port: 0
            filters: [cors]
            routes:
              - {path: /v1/publish, handler: publish, filters: [apps]}
              - {path: /v1/stats, handler: stats, filters: [apps]}
              - {path: "/v1/register/{client_id}", handler: unregister, filters: [apps]}
        """

    @Test(.timeLimit(.minutes(3))) func consoleWorksInChromium() async throws {
        try await Self.runConsole(yaml: Self.yaml)
    }

    /// The same steps with both listeners on TLS: the page loads over `https://`, registers, and
    /// its WebSocket goes to the `wss://` URL it is handed, with Chromium trusting only the test
    /// certificate's key.
    @Test(.timeLimit(.minutes(3))) func consoleWorksInChromiumOverTLS() async throws {
        let certificates = try await TestCertificates.make()
        let tls = "    tls: {certificate: \(certificates.server), key: \(certificates.serverKey)}\n"
        let yaml = Self.yaml.replacingOccurrences(of: "    port: 0\n", with: "    port: 0\n" + tls)
        #expect(yaml.components(separatedBy: "tls:").count == 3, "both listeners on TLS")
        try await Self.runConsole(
            yaml: yaml, scheme: "https",
            extraArguments: ["--spki", certificates.spki, "--cacert", certificates.ca]
        )
    }

    private static func runConsole(yaml: String, scheme: String = "http", extraArguments: [String] = []) async throws {
        _ = try Prerequisite.program("chromium", "chromium-browser", install: "apt-get install chromium")
        _ = try Prerequisite.program("chromedriver", install: "apt-get install chromium-driver")
        let python = try Prerequisite.program("python3", install: "apt-get install python3")
        let selenium = try await Program.run(python, ["-c", "import selenium"])
        if selenium.status != 0 {
            try Prerequisite.missing("Python's selenium", install: "python3 -m pip install selenium")
        }
        let artifacts = Self.artifacts.appendingPathComponent(scheme)
        try? FileManager.default.removeItem(at: artifacts)
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        try await RunningGateway.with(yaml: yaml, environment: ["APP_TOKEN": "browser-secret"], limit: .seconds(170)) { gateway in
            func url(_ path: String, _ listener: String) -> String {
                "\(scheme)://localhost:\(gateway.ports[listener]!)\(path)"
            }
            let run = try await Program.run(
                python,
                [
                    Self.script.path,
                    "--console", url("/console", "public"),
                    "--publish", url("/v1/publish", "internal"),
                    "--screenshot-dir", artifacts.path,
                    "--token", "browser-secret",
                ] + extraArguments,
                limit: .seconds(150)
            )
            #expect(run.status == 0, "browser steps failed:\n\(run.stdout)\n\(run.stderr)")
            #expect(run.stdout.contains("ok"), "\(run.stdout)")
            let screenshot = artifacts.appendingPathComponent("console.png")
            #expect(FileManager.default.fileExists(atPath: screenshot.path), "no screenshot at \(screenshot.path)")
            print("ConsoleBrowserTests: screenshot at \(screenshot.path)")
        }
    }
}
