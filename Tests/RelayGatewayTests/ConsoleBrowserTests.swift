import Foundation
import Testing

/// The console page in a real browser: headless Chromium driven by Selenium
/// (`Browser/console_browser_test.py`) registers, subscribes, receives a message published with
/// curl, changes topics and publishes from the page, under the `cors`, `auth` and `rate_limit`
/// filters, and leaves a screenshot in `.build/test-artifacts/browser/`.
///
/// It needs `chromium`, `chromedriver` and Python's `selenium` (`.ci/run` installs them). Where
/// they are missing it is skipped with a message, unless `RELAY_REQUIRE_BROWSER=1` (set by
/// `.ci/run`), where their absence fails it.
@Suite struct ConsoleBrowserTests {
    static let script = Program.packageRoot.appendingPathComponent("Tests/RelayGatewayTests/Browser/console_browser_test.py")
    static let artifacts = Program.packageRoot.appendingPathComponent(".build/test-artifacts/browser")

    /// What is missing for the browser test, if anything.
    static var missing: [String] {
        var missing: [String] = []
        if Program.find("chromium") == nil && Program.find("chromium-browser") == nil { missing.append("chromium") }
        if Program.find("chromedriver") == nil { missing.append("chromedriver") }
        if Program.find("python3") == nil { missing.append("python3") }
        return missing
    }

    static var required: Bool { ProcessInfo.processInfo.environment["RELAY_REQUIRE_BROWSER"] == "1" }

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
        guard Self.missing.isEmpty else {
            if Self.required {
                Issue.record("the browser test must run here, but these are missing: \(Self.missing.joined(separator: ", "))")
            } else {
                print("SKIPPED ConsoleBrowserTests: missing \(Self.missing.joined(separator: ", ")) (install chromium chromium-driver and pip selenium)")
            }
            return
        }
        let python = try #require(Program.find("python3"))
        let selenium = try await Program.run(python, ["-c", "import selenium"])
        guard selenium.status == 0 else {
            if Self.required {
                Issue.record("Python's selenium is not installed: \(selenium.stderr)")
            } else {
                print("SKIPPED ConsoleBrowserTests: Python's selenium is missing (pip install selenium)")
            }
            return
        }
        try? FileManager.default.removeItem(at: Self.artifacts)
        try FileManager.default.createDirectory(at: Self.artifacts, withIntermediateDirectories: true)
        try await RunningGateway.with(yaml: Self.yaml, environment: ["APP_TOKEN": "browser-secret"]) { gateway in
            let run = try await Program.run(
                python,
                [
                    Self.script.path,
                    "--console", gateway.url("/console", listener: "public"),
                    "--publish", gateway.url("/v1/publish", listener: "internal"),
                    "--screenshot-dir", Self.artifacts.path,
                    "--token", "browser-secret",
                ],
                limit: .seconds(150)
            )
            #expect(run.status == 0, "browser steps failed:\n\(run.stdout)\n\(run.stderr)")
            #expect(run.stdout.contains("ok"), "\(run.stdout)")
            let screenshot = Self.artifacts.appendingPathComponent("console.png")
            #expect(FileManager.default.fileExists(atPath: screenshot.path), "no screenshot at \(screenshot.path)")
            print("ConsoleBrowserTests: screenshot at \(screenshot.path)")
        }
    }
}
