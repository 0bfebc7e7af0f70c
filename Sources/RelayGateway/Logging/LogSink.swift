import Foundation
import NIOPosix
import Synchronization

/// Log lines written off the hot path: a request appends its line to its thread's own bounded
/// buffer (a lock nobody else is waiting for, and a copy; no system call), and a thread of the
/// sink's own writes the buffers out every 10 ms, or sooner once 64 KiB are waiting. When a
/// thread's buffer is full (1 MiB waiting: the output cannot keep up) its lines are dropped,
/// counted, and the drop is itself reported in the output as soon as there is room (and in
/// `relay_log_lines_dropped_total`).
public final class LogSink: Sendable {
    /// Standard output, as `serve` logs.
    public static let standardOutput = LogSink(descriptor: STDOUT_FILENO)

    static let capacity = 1 << 20
    static let eagerBytes = 64 << 10

    /// One writing thread's lines.
    private final class Buffer: Sendable {
        struct State {
            var pending: [UInt8] = []
            var droppedSinceReport = 0
        }

        let state = Mutex(State())
    }

    private let descriptor: Int32
    private let buffers = Mutex<[Buffer]>([])
    nonisolated(unsafe) private let bufferOfThread = ThreadSpecificVariable<Buffer>()
    private let wake = NSCondition()
    private let dropped = Atomic<Int>(0)

    /// Lines dropped so far because a buffer was full.
    public var droppedLines: Int { self.dropped.load(ordering: .relaxed) }

    /// - Parameter writer: whether a thread of its own writes the buffers out; without it only
    ///   ``flush()`` does (a test then decides when the output keeps up).
    init(descriptor: Int32, writer: Bool = true) {
        self.descriptor = descriptor
        guard writer else { return }
        let thread = Thread(block: { [self] in self.writeForever() })
        thread.name = "relay-log-writer"
        thread.start()
    }

    /// Queues one line (`line` ends with a newline).
    func write(_ line: String) {
        self.write(bytes: line.utf8.count) { $0.append(contentsOf: line.utf8) }
    }

    /// Queues one line of `bytes` bytes, which `fill` appends to the buffer.
    func write(bytes: Int, _ fill: (inout [UInt8]) -> Void) {
        let buffer = self.buffer()
        let eager = buffer.state.withLock { state -> Bool in
            guard state.pending.count + bytes <= Self.capacity else {
                state.droppedSinceReport += 1
                self.dropped.add(1, ordering: .relaxed)
                return false
            }
            let before = state.pending.count
            fill(&state.pending)
            return before < Self.eagerBytes && state.pending.count >= Self.eagerBytes
        }
        if eager { self.wake.signal() }
    }

    /// Writes out what is waiting now (at the end of `serve`).
    public func flush() {
        self.writeOut()
    }

    private func buffer() -> Buffer {
        if let buffer = self.bufferOfThread.currentValue { return buffer }
        let buffer = Buffer()
        self.bufferOfThread.currentValue = buffer
        self.buffers.withLock { $0.append(buffer) }
        return buffer
    }

    private func writeForever() {
        while true {
            self.wake.lock()
            _ = self.wake.wait(until: Date(timeIntervalSinceNow: 0.01))
            self.wake.unlock()
            self.writeOut()
        }
    }

    private func writeOut() {
        var bytes: [UInt8] = []
        for buffer in self.buffers.withLock({ $0 }) {
            let (pending, dropped) = buffer.state.withLock { state in
                defer {
                    state.pending.removeAll(keepingCapacity: true)
                    state.droppedSinceReport = 0
                }
                return (state.pending, state.droppedSinceReport)
            }
            bytes += pending
            if dropped > 0 {
                bytes += Array("relay-gateway: \(dropped) log lines dropped: the output could not keep up\n".utf8)
            }
        }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Foundation.write(self.descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
    }
}
