import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An event-stream subscriber on a raw socket: sends the `GET`, keeps every byte, and reads the
/// body back through its framing (chunked on HTTP/1.1), so a test sees exactly what went on the wire.
final class EventStreamClient: @unchecked Sendable {
    let socket: RawSocket
    private var received: [UInt8] = []
    private(set) var head = ""
    private(set) var ended = false

    /// Opens `path` and reads the answer's head.
    init(port: Int, path: String, headers: [String] = [], version: String = "1.1", receiveBuffer: Int32? = nil) async throws {
        self.socket = try RawSocket(port: port, receiveBuffer: receiveBuffer)
        let extra = headers.map { $0 + "\r\n" }.joined()
        self.socket.send("GET \(path) HTTP/\(version)\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\(extra)\r\n")
        _ = await self.read(until: "\r\n\r\n", timeout: .seconds(5))
        let text = String(decoding: self.received, as: UTF8.self)
        if let end = text.range(of: "\r\n\r\n") {
            self.head = String(text[..<end.lowerBound])
        }
    }

    var status: Int { Int(self.head.split(separator: " ").dropFirst().first ?? "") ?? 0 }
    var isChunked: Bool { self.head.lowercased().contains("transfer-encoding: chunked") }

    /// Everything after the head, as sent.
    var rawBody: String {
        let text = String(decoding: self.received, as: UTF8.self)
        return text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
    }

    /// The body with its chunked framing taken off (what an SSE reader parses), and whether the
    /// last chunk arrived. Fails the framing check by returning nil.
    var body: (text: String, complete: Bool)? {
        guard self.isChunked else { return (self.rawBody, false) }
        // In bytes: "\r\n" is one Character, which would throw the counting off.
        let bytes = Array(self.rawBody.utf8)
        var index = 0
        var text: [UInt8] = []
        func lineEnd(from start: Int) -> Int? {
            var i = start
            while i + 1 < bytes.count {
                if bytes[i] == 13 && bytes[i + 1] == 10 { return i }
                i += 1
            }
            return nil
        }
        while let end = lineEnd(from: index) {
            guard let size = Int(String(decoding: bytes[index..<end], as: UTF8.self), radix: 16) else { return nil }
            let start = end + 2
            if size == 0 { return (String(decoding: text, as: UTF8.self), bytes.count >= start + 2 && bytes[start] == 13 && bytes[start + 1] == 10) }
            guard bytes.count >= start + size + 2 else { break }
            guard bytes[start + size] == 13 && bytes[start + size + 1] == 10 else { return nil }
            text += bytes[start..<(start + size)]
            index = start + size + 2
        }
        return (String(decoding: text, as: UTF8.self), false)
    }

    /// The events so far, each as its fields (`data` joined with newlines, as EventSource does).
    var events: [[String: String]] {
        guard let text = self.body?.text else { return [] }
        return text.components(separatedBy: "\n\n").dropLast().compactMap { block in
            var event: [String: String] = [:]
            for line in block.split(separator: "\n", omittingEmptySubsequences: false) where !line.hasPrefix(":") {
                let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(parts[0])
                var value = parts.count > 1 ? String(parts[1]) : ""
                if value.hasPrefix(" ") { value.removeFirst() }
                event[name] = event[name].map { $0 + "\n" + value } ?? value
            }
            return event.isEmpty ? nil : event
        }
    }

    /// Message events (no `event:` name) and their data.
    var messages: [String] { self.events.filter { $0["event"] == nil }.compactMap { $0["data"] } }

    /// Reads until the body holds `marker` (or the connection ends, or `timeout`); returns whether it did.
    @discardableResult
    func read(until marker: String, timeout: Duration = .seconds(5)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if String(decoding: self.received, as: UTF8.self).contains(marker) { return true }
            let bytes = await self.socket.receive(timeout: .milliseconds(200))
            if bytes.isEmpty && self.socket.isClosedByPeer() {
                self.ended = true
                return String(decoding: self.received, as: UTF8.self).contains(marker)
            }
            self.received += bytes
        }
        return String(decoding: self.received, as: UTF8.self).contains(marker)
    }

    /// Waits until `count` message events arrived.
    func messages(_ count: Int, timeout: Duration = .seconds(5)) async throws -> [String] {
        let deadline = ContinuousClock.now + timeout
        while self.messages.count < count {
            guard ContinuousClock.now < deadline, !self.ended else {
                throw TimedOut(what: "\(count) events; got \(self.messages) in \(self.rawBody.debugDescription)")
            }
            await self.read(until: "\u{0}", timeout: .milliseconds(100))
        }
        return self.messages
    }

    /// Reads until the server closes the connection.
    func readToEnd(timeout: Duration = .seconds(5)) async {
        let deadline = ContinuousClock.now + timeout
        while !self.ended && ContinuousClock.now < deadline {
            await self.read(until: "\u{0}", timeout: .milliseconds(100))
        }
    }
}

extension RawSocket {
    /// Closes the sending side (a FIN), as curl does when it is interrupted... and as a client that is done does.
    func shutdownWrite() { shutdown(self.descriptor, Int32(SHUT_WR)) }
    /// Closes both sides at once.
    func shutdownBoth() { shutdown(self.descriptor, Int32(SHUT_RDWR)) }

    /// Whether the peer has closed (a read would return end of file at once).
    func isClosedByPeer() -> Bool {
        var poller = pollfd(fd: self.descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, 0) > 0 else { return false }
        var byte: UInt8 = 0
        return recv(self.descriptor, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) == 0
    }
}
