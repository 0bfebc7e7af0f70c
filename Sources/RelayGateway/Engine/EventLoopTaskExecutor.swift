import NIOCore

/// Runs a connection's Swift tasks on the connection's own event loop.
///
/// Hummingbird serves each HTTP connection from a task on the global concurrent executor, so every
/// request hops between that pool's threads and the event loop that owns the socket (two context
/// switches or more per request). With this executor as the task's preference, reading the
/// request, running filters and handler, and writing the answer all stay on one thread. Handlers
/// must therefore never block, which the relay's do not.
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
