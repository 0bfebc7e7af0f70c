/// Answers a request: a route's handler, or a filter with the rest of the chain behind it.
public protocol Responder: Sendable {
    /// Never throws and never fails: an error is already its answer.
    func respond(to request: Request, context: RequestContext) -> Reply
}

/// A step in front of a handler (CORS, a log line, a rate limit, auth): it answers by itself
/// (a preflight, 401, 429) or passes the request on to `next`, and may change what comes back.
///
/// ```swift
/// struct NoStore: RequestFilter {
///     func handle(_ request: Request, context: RequestContext, next: any Responder) throws -> Reply {
///         next.respond(to: request, context: context).map { response in
///             var response = response
///             response.headers[.cacheControl] = "no-store"
///             return response
///         }
///     }
/// }
/// ```
public protocol RequestFilter: Sendable {
    /// A thrown ``HTTPError`` is the answer (anything else: 500).
    func handle(_ request: Request, context: RequestContext, next: any Responder) throws -> Reply
}

/// A handler as a responder: a thrown error becomes its answer.
public struct HandlerResponder: Responder {
    public typealias Handler = @Sendable (Request, RequestContext) throws -> Reply

    let handler: Handler

    public init(_ handler: @escaping Handler) {
        self.handler = handler
    }

    public func respond(to request: Request, context: RequestContext) -> Reply {
        do {
            return try self.handler(request, context)
        } catch {
            return .now(HTTPError.from(error).response)
        }
    }
}

/// `filter` in front of `next`.
struct FilteredResponder: Responder {
    let filter: any RequestFilter
    let next: any Responder

    func respond(to request: Request, context: RequestContext) -> Reply {
        do {
            return try self.filter.handle(request, context: context, next: self.next)
        } catch {
            return .now(HTTPError.from(error).response)
        }
    }
}

extension Responder {
    /// This responder behind `filters`, the first of them outermost.
    public func behind(_ filters: [any RequestFilter]) -> any Responder {
        filters.reversed().reduce(self as any Responder) { next, filter in FilteredResponder(filter: filter, next: next) }
    }
}
