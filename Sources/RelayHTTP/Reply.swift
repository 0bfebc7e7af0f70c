import HTTPTypes
import NIOCore

/// What a filter or handler answers with: a response now, on the event loop, or later, when
/// work that must wait (a database call) is done. Most requests never leave the first case:
/// they cost no task, no future and no hop.
///
/// A reply never fails: errors are answers already (``HTTPError``).
public enum Reply: Sendable {
    case now(Response)
    case later(EventLoopFuture<Response>)

    /// The same reply with its response changed by `transform` (now or when it arrives).
    public func map(_ transform: @escaping @Sendable (Response) -> Response) -> Reply {
        switch self {
        case .now(let response): .now(transform(response))
        case .later(let future): .later(future.map(transform))
        }
    }

    /// The same reply with `fields` added to its response. Filters on every request use this
    /// rather than `map`: an answer given now costs no closure.
    public func adding(_ fields: HTTPFields) -> Reply {
        switch self {
        case .now(var response):
            response.headers.append(contentsOf: fields)
            return .now(response)
        case .later(let future):
            return .later(
                future.map { response in
                    var response = response
                    response.headers.append(contentsOf: fields)
                    return response
                }
            )
        }
    }

    /// Runs `work` as a task on `eventLoop` (it never hops to the global executor) and answers
    /// with its response, or with the error it throws as an answer.
    public static func async(
        on eventLoop: any EventLoop,
        _ work: @escaping @Sendable () async throws -> Response
    ) -> Reply {
        let promise = eventLoop.makePromise(of: Response.self)
        Task(executorPreference: EventLoopTaskExecutor(eventLoop)) {
            do {
                promise.succeed(try await work())
            } catch {
                promise.succeed(HTTPError.from(error).response)
            }
        }
        return .later(promise.futureResult)
    }
}

/// Runs Swift tasks on one event loop: a request's waiting work stays on the thread that owns
/// its connection instead of hopping between the global pool and the loop.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
