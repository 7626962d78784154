import NIOCore
import NIOPosix

/// The embedded writer's own thread: its event loop, the one-thread pool that runs its SQLite
/// calls, and a `TaskExecutor` on that loop that write sessions prefer.
///
/// Why: a write session holds the writer lock across every statement it awaits. On the shared
/// pools each statement's completion went back to the global concurrency pool and queued behind
/// every other runnable task (provider pages being parsed, other jobs) before the session could
/// go on — with 24 sync jobs on 2 cores the lock was held mostly by sessions waiting for a
/// thread, not by SQLite. On this thread the session resumes as soon as its statement is done,
/// and the next lock holder starts as soon as the last one lets go (its continuation runs here
/// too). The thread pool is the writer's alone, so a statement never waits behind a reader's.
final class WriterThread: TaskExecutor, @unchecked Sendable {
    // @unchecked: every stored property is immutable and itself thread-safe.
    let group: MultiThreadedEventLoopGroup
    let loop: any EventLoop
    let pool: NIOThreadPool

    init() {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
        pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// Stops the thread pool and the loop; call after the connection has closed.
    func shutdown() async {
        try? await pool.shutdownGracefully()
        try? await group.shutdownGracefully()
    }
}
