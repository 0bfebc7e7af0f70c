import Hummingbird

/// An error answer of the gateway: a status and `{"error": "..."}`.
public struct RelayHTTPError: HTTPResponseError, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let message: String
    public let headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(self.status.code) \(self.message)" }

    /// The same answer with `extra` headers too.
    func adding(_ extra: HTTPFields) -> RelayHTTPError {
        var headers = self.headers
        headers.append(contentsOf: extra)
        return RelayHTTPError(self.status, self.message, headers: headers)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        self.response
    }

    var response: Response {
        JSONResponse.make(self.status, ["error": self.message], headers: self.headers)
    }

    /// 503 for a cluster backend that could not be reached; nothing was done.
    static func clusterUnavailable(_ error: any Error) -> RelayHTTPError {
        RelayHTTPError(.serviceUnavailable, "cluster unavailable: \(error); retry later", headers: [.retryAfter: "1"])
    }

    /// Any error as the gateway's JSON answer: Hummingbird's own errors keep their status.
    static func from(_ error: any Error) -> RelayHTTPError {
        switch error {
        case let error as RelayHTTPError:
            return error
        case let error as HTTPError:
            let message = error.body ?? Self.defaultMessage(for: error.status)
            return RelayHTTPError(error.status, message, headers: error.headers)
        case let error as any HTTPResponseError:
            return RelayHTTPError(error.status, Self.defaultMessage(for: error.status))
        default:
            return RelayHTTPError(.internalServerError, "internal error")
        }
    }

    private static func defaultMessage(for status: HTTPResponse.Status) -> String {
        switch status {
        case .notFound: "not found"
        case .contentTooLarge: "request body too large"
        case .methodNotAllowed: "method not allowed"
        default: status.reasonPhrase.lowercased()
        }
    }
}

/// Turns every error thrown below it (by a filter, a handler or the router's own 404) into the
/// gateway's JSON error answer. It is the outermost layer of each listener.
struct JSONErrorMiddleware: RouterMiddleware {
    func handle(_ request: Request, context: RelayRequestContext, next: (Request, RelayRequestContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return RelayHTTPError.from(error).response
        }
    }
}
