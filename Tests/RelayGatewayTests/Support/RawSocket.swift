import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP socket for what well-behaved clients never do: stop reading, send garbage.
/// One task may send while another receives (the kernel serialises calls on the descriptor).
final class RawSocket: @unchecked Sendable {
    let descriptor: Int32

    /// Connects to 127.0.0.1:`port`; a small receive buffer makes a non-reading client back up fast.
    init(port: Int, receiveBuffer: Int32? = nil) throws {
        self.descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard self.descriptor >= 0 else { throw POSIXError(.EIO) }
        if var size = receiveBuffer {
            setsockopt(self.descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(self.descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            // Not closed here: `deinit` runs for this object too (it was fully initialised), and
            // a second close could close a descriptor the server has been given meanwhile.
            throw POSIXError(.ECONNREFUSED)
        }
    }

    deinit {
        close(self.descriptor)
    }

    func send(_ text: String) {
        self.send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(self.descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Sends all of `bytes` without holding a thread while the server is slow to read (it
    /// sleeps while the socket buffer is full); stops early once the connection is gone.
    func sendAll(_ bytes: [UInt8]) async {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes {
                Glibc.send(self.descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if sent > 0 {
                offset += sent
                continue
            }
            guard sent < 0, errno == EAGAIN || errno == EWOULDBLOCK else { return }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Reads what arrives within `timeout` (stopping early once `until` is seen); empty at EOF.
    /// It polls without blocking and sleeps in between, so it never holds a thread of Swift's
    /// small cooperative pool (which the other tests, and the servers' tasks, need).
    func receive(timeout: Duration = .seconds(5), until marker: String? = nil) async -> [UInt8] {
        var received: [UInt8] = []
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: self.descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 0) > 0 else {
                try? await Task.sleep(for: .milliseconds(5))
                continue
            }
            let count = buffer.withUnsafeMutableBytes { recv(self.descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += buffer[0..<count]
            if let marker, String(decoding: received, as: UTF8.self).contains(marker) { break }
        }
        return received
    }

    /// A WebSocket handshake for `path`; returns the HTTP answer head.
    func handshake(path: String) async -> String {
        self.send(
            "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        return String(decoding: await self.receive(until: "\r\n\r\n"), as: UTF8.self)
    }
}
