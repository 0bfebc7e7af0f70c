import Foundation
import Logging
import Testing

@testable import RelayGateway

/// The buffered log output of `serve`: lines arrive in order, within milliseconds, in
/// StreamLogHandler's format; past the buffer's capacity lines are dropped and the drop is
/// reported, never hidden.
@Suite struct LogSinkTests {
    /// A sink writing into a fresh file, and a way to read that file back.
    static func sink(writer: Bool = true) throws -> (LogSink, @Sendable () -> String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("relay-log-\(UUID().uuidString)").path
        let descriptor = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o600)
        #expect(descriptor >= 0)
        return (LogSink(descriptor: descriptor, writer: writer), { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" })
    }

    @Test func linesArriveInOrderInTheStreamFormat() async throws {
        let (sink, read) = try Self.sink()
        var handler = BufferedLogHandler(label: "relay-gateway", sink: sink)
        handler[metadataKey: "listener"] = "public"
        let logger = Logger(label: "relay-gateway") { _ in handler }
        for index in 0..<1000 {
            logger.info("line \(index)")
        }
        // Written within milliseconds on an idle machine; the deadline only guards against a hang
        // (a suite running beside a build can starve the writer thread for seconds).
        try await eventually("all lines written", within: .seconds(30)) { read().split(separator: "\n").count == 1000 }
        let lines = read().split(separator: "\n")
        #expect(lines.enumerated().allSatisfy { $0.element.hasSuffix(" line \($0.offset)") })
        let first = String(lines[0])
        #expect(
            first.range(
                of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} info relay-gateway: listener=public \[RelayGatewayTests\] line 0$"#,
                options: .regularExpression) != nil,
            "\(first)"
        )
    }

    @Test func aFullBufferDropsLinesCountsThemAndSaysSo() async throws {
        // No writer thread: the output keeps up with nothing until the flush, however busy the machine.
        let (sink, read) = try Self.sink(writer: false)
        let line = String(repeating: "x", count: 1023) + "\n"
        let fits = LogSink.capacity / line.utf8.count
        // 3 MiB into a 1 MiB buffer: the first MiB is kept, the rest dropped and counted.
        for _ in 0..<(3 * fits) {
            sink.write(line)
        }
        #expect(sink.droppedLines == 2 * fits)
        sink.flush()
        let lines = read().split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("xxx") }.count == fits, "every line kept is written")
        #expect(lines.last == "relay-gateway: \(2 * fits) log lines dropped: the output could not keep up")
        // With room again, lines are kept and the drop is not reported twice.
        sink.write("after\n")
        sink.flush()
        #expect(read().split(separator: "\n").last == "after")
        #expect(sink.droppedLines == 2 * fits)
    }
}
