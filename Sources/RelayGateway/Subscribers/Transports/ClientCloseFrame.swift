import NIOCore
import NIOWebSocket

/// A close frame a client sent, judged by RFC 6455 §5.5.1 and §7.4: its payload is empty, or a
/// status code the RFC allows on the wire followed by a UTF-8 reason.
enum ClientCloseFrame: Equatable {
    /// A valid close: the code to echo (RFC 6455 §5.5.1), or nil when it carried none.
    case valid(code: UInt16?)
    /// A close the server answers with this code instead.
    case invalid(WebSocketErrorCode, reason: String)

    init(payload: ByteBuffer) {
        var payload = payload
        guard payload.readableBytes > 0 else {
            self = .valid(code: nil)
            return
        }
        guard let code = payload.readInteger(as: UInt16.self) else {
            self = .invalid(.protocolError, reason: "a close payload holds a 2-byte code, not 1 byte")
            return
        }
        guard Self.isAllowedOnTheWire(code) else {
            self = .invalid(.protocolError, reason: "close code \(code) is not allowed")
            return
        }
        guard String(validating: payload.readableBytesView, as: UTF8.self) != nil else {
            self = .invalid(.dataInconsistentWithMessage, reason: "invalid UTF-8 in the close reason")
            return
        }
        self = .valid(code: code)
    }

    /// Codes an endpoint may send (RFC 6455 §7.4.1 and the IANA registry): 1000-1003 and
    /// 1007-1014 defined, 3000-4999 for libraries and applications. 1004-1006 and 1015 are
    /// reserved, never sent; the rest is unassigned.
    static func isAllowedOnTheWire(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }
}
