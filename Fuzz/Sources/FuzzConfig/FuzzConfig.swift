import Logging

@testable import RelayConfig
@testable import RelayGateway

/// Any text as a config file: it loads, or fails with a located one-line error; never a crash,
/// never unbounded work (libFuzzer's -timeout and -rss_limit_mb catch those).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
    do {
        let config = try ConfigLoader.parse(yaml: text, file: "fuzz.yaml", environment: ["A": "1", "PORT": "0"])
        _ = try RouteTable(config: config, logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))
    } catch {
        precondition(error.file == "fuzz.yaml" && !error.message.isEmpty && !error.description.contains("\n"), "a bad config error: \(error)")
    }
    return 0
}
