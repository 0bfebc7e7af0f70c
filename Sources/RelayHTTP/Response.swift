import HTTPTypes
import NIOCore

/// A complete answer: status, header fields and body. The engine adds `Content-Length` (from the
/// body), `Date` and the connection's own `Connection` field when it writes it.
public struct Response: Sendable {
    public var status: HTTPResponse.Status
    public var headers: HTTPFields
    public var body: ByteBuffer
    /// What the connection becomes after this answer (``ConnectionHandover``); `body` is then ignored.
    public var handover: (any ConnectionHandover)?

    public init(status: HTTPResponse.Status, headers: HTTPFields = [:], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Accepts a WebSocket handshake: `101 Switching Protocols` (the engine adds the
    /// `Sec-WebSocket-Accept`, `Upgrade` and `Connection` fields), then `handover` takes the connection.
    public static func webSocket(_ handover: some ConnectionHandover, headers: HTTPFields = [:]) -> Response {
        var response = Response(status: .switchingProtocols, headers: headers)
        response.handover = handover
        return response
    }

    /// A streamed body (Server-Sent Events): the engine writes the head (`Transfer-Encoding:
    /// chunked` on HTTP/1.1, `Connection: close` on HTTP/1.0), then `handover` writes the body.
    /// To `HEAD` the engine answers with the head alone and keeps the connection.
    public static func stream(_ handover: some ConnectionHandover, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var response = Response(status: status, headers: headers)
        response.handover = handover
        return response
    }

    /// `body` as `application/json`.
    public static func json(_ status: HTTPResponse.Status, _ body: ByteBuffer, headers: HTTPFields = [:]) -> Response {
        guard !headers.isEmpty else {
            // Shared, so the common answer allocates no fields of its own.
            return Response(status: status, headers: Self.jsonFields, body: body)
        }
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: body)
    }

    private static let jsonFields: HTTPFields = [.contentType: "application/json"]
}

/// An error answer: a status and `{"error": "..."}`. Thrown by a filter or a handler (or the
/// engine itself for a malformed request), it becomes that answer.
public struct HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let message: String
    public let headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(self.status.code) \(self.message)" }

    public var response: Response {
        Response.json(self.status, ByteBuffer(string: Self.json(error: self.message)), headers: self.headers)
    }

    /// Any error as an answer: an ``HTTPError`` as it is, anything else 500 "internal error".
    public static func from(_ error: any Error) -> HTTPError {
        (error as? HTTPError) ?? HTTPError(.internalServerError, "internal error")
    }

    /// `{"error":"<message>"}` with the message escaped as a JSON string.
    public static func json(error message: String) -> String {
        #"{"error":"# + JSONString.quoted(message) + "}"
    }
}

/// JSON string literals, for the few answers and log lines written by hand on hot paths.
public enum JSONString {
    /// `text` in double quotes, with `"`, `\\` and control characters escaped (as JSONEncoder does).
    public static func quoted(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
