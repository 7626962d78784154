public import BankSyncStore
import Foundation
public import Logging
import Metrics
public import ServiceLifecycle
import Synchronization

/// Runs the jobs of one queue: claims in batches up to its free slots, runs handlers
/// concurrently, keeps their leases alive, and writes outcomes back in batches.
///
/// On graceful shutdown it stops claiming, waits up to ``Configuration/shutdownDeadline`` for
/// running jobs, then cancels what is left and gives those jobs back (available again, attempt
/// not counted). A worker that dies without that (SIGKILL, power loss) leaves leases that
/// expire; ``JobMaintenance`` rescues those jobs within seconds.
public struct JobWorker: Service {
    /// Tuning of one worker.
    public struct Configuration: Sendable {
        public var queue: String
        /// Jobs run at once.
        public var concurrency: Int
        /// How long a claimed job is ours without a heartbeat. Heartbeats run every third of it.
        public var leaseDuration: Duration
        /// How often to look for jobs when no wake-up arrives.
        public var pollInterval: Duration
        /// How long graceful shutdown waits for running jobs before cancelling them.
        public var shutdownDeadline: Duration

        public init(
            queue: String = "default", concurrency: Int = 10, leaseDuration: Duration = .seconds(30),
            pollInterval: Duration = .seconds(1), shutdownDeadline: Duration = .seconds(20)
        ) {
            self.queue = queue
            self.concurrency = max(1, concurrency)
            self.leaseDuration = leaseDuration
            self.pollInterval = pollInterval
            self.shutdownDeadline = shutdownDeadline
        }
    }

    let jobs: JobQueue
    let registry: JobRegistry
    let configuration: Configuration
    /// Identifies this worker in `leased_by`: a lease is only ever settled by its holder.
    public let workerID: String
    let logger: Logger

    public init(queue: JobQueue, registry: JobRegistry, configuration: Configuration = Configuration(), logger: Logger) {
        self.jobs = queue
        self.registry = registry
        self.configuration = configuration
        self.workerID = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8))"
        var logger = logger
        logger[metadataKey: "worker_id"] = "\(workerID)"
        logger[metadataKey: "queue"] = "\(configuration.queue)"
        self.logger = logger
    }

    public func run() async throws {
        let wake = jobs.notifier.subscribe(queue: configuration.queue)
        defer { jobs.notifier.unsubscribe(wake, queue: configuration.queue) }
        let state = WorkerState()
        logger.info("job worker started", metadata: ["concurrency": "\(configuration.concurrency)"])
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.heartbeatLoop(state) }
                // Claim when at least this many slots are free (or nothing runs), so claims come in
                // batches instead of one round trip per finished job.
                let claimThreshold = max(1, configuration.concurrency / 4)
                while !state.isStopping && !Task.isCancelled {
                    await flush(state)
                    let inFlight = state.inFlightCount
                    let free = configuration.concurrency - inFlight
                    var claimed: [ClaimedJob] = []
                    if free >= claimThreshold || (inFlight == 0 && free > 0) {
                        claimed = await claim(limit: free)
                        for job in claimed {
                            state.start(job)
                            group.addTask {
                                let outcome = await self.execute(job, state: state)
                                // Wake the loop once enough slots are free to claim a batch, or
                                // when the last job finishes; otherwise the short wait below flushes.
                                if state.finish(job, outcome) >= claimThreshold || state.inFlightCount == 0 { wake.signal() }
                            }
                        }
                    }
                    if free > 0 && claimed.count == free { continue }  // a full batch: there may be more
                    // With jobs running, come back soon to record their outcomes; idle, poll.
                    let busy = state.inFlightCount > 0 || state.hasFinished
                    await wake.wait(timeout: busy ? min(configuration.pollInterval, .milliseconds(20)) : configuration.pollInterval)
                }
                // Draining: let running jobs finish until the deadline.
                let deadline = ContinuousClock.now + configuration.shutdownDeadline
                while state.inFlightCount > 0 && ContinuousClock.now < deadline && !Task.isCancelled {
                    await flush(state)
                    await wake.wait(timeout: .milliseconds(50))
                }
                state.markShuttingDown()
                group.cancelAll()
                await group.waitForAll()
                await flush(state)
            }
        } onGracefulShutdown: {
            state.stop()
            wake.signal()
        }
        logger.info("job worker stopped")
    }

    private func claim(limit: Int) async -> [ClaimedJob] {
        do {
            let now = jobs.now().millisecondsSince1970
            return try await jobs.store.claim(
                queue: configuration.queue, limit: limit, worker: workerID, now: now,
                leaseMilliseconds: configuration.leaseDuration.milliseconds, in: jobs.database)
        } catch {
            logger.warning("claiming jobs failed; will retry", metadata: ["error": "\(error)"])
            return []
        }
    }

    /// Writes finished outcomes: completions in one statement, the rest one by one, all in one transaction.
    private func flush(_ state: WorkerState) async {
        let finished = state.takeFinished()
        guard !finished.isEmpty else { return }
        let now = jobs.now().millisecondsSince1970
        var completions: [(id: String, result: String?)] = []
        var others: [(ClaimedJob, JobOutcome)] = []
        for (job, outcome) in finished {
            if case .completed(let result) = outcome { completions.append((job.id, result)) } else { others.append((job, outcome)) }
        }
        do {
            if others.isEmpty && jobs.database.engine == .postgres {
                // One statement: no transaction needed.
                try await jobs.database.withSession { db in
                    try await jobs.store.complete(completions, worker: workerID, now: now, on: db)
                }
            } else {
                try await jobs.database.transaction { db in
                    try await jobs.store.complete(completions, worker: workerID, now: now, on: db)
                    for (job, outcome) in others {
                        try await jobs.store.settle(job, outcome: outcome, worker: workerID, now: now, on: db)
                    }
                }
            }
        } catch {
            logger.warning("recording job outcomes failed; will retry", metadata: ["error": "\(error)", "count": "\(finished.count)"])
            state.requeueFinished(finished)
        }
    }

    private func heartbeatLoop(_ state: WorkerState) async {
        let interval = configuration.leaseDuration / 3
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            let ids = state.leasedIDs
            guard !ids.isEmpty else { continue }
            do {
                let until = (jobs.now().millisecondsSince1970) + configuration.leaseDuration.milliseconds
                try await jobs.database.withSession { db in
                    try await jobs.store.heartbeat(ids: ids, worker: workerID, until: until, on: db)
                }
            } catch {
                logger.warning("extending job leases failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Runs one attempt and decides its outcome. Never throws: every ending is an outcome.
    func execute(_ job: ClaimedJob, state: WorkerState) async -> JobOutcome {
        var logger = self.logger
        logger[metadataKey: "job_id"] = "\(job.id)"
        logger[metadataKey: "job"] = "\(job.name)"
        Counter(label: "banksync_jobs_started_total", dimensions: [("job", job.name)]).increment()
        Timer(label: "banksync_job_start_latency_seconds", dimensions: [("queue", configuration.queue)])
            .recordNanoseconds(Int64(max(0, jobs.now().timeIntervalSince(job.dueAt)) * 1e9))
        let started = ContinuousClock.now
        let outcome: JobOutcome
        if let entry = registry.entries[job.name] {
            let context = JobContext(jobID: job.id, name: job.name, attempt: job.attempt, maxAttempts: job.maxAttempts, logger: logger)
            outcome = await run(entry, job: job, context: context, state: state)
        } else {
            // Reported, not dropped: the attempt fails with the reason and retries (another
            // process may know the job, e.g. during a rolling deploy) until it is discarded.
            outcome = .failed(
                message: "no handler is registered for job '\(job.name)' in this process (registered: \(registry.names.joined(separator: ", ")))",
                retryAt: jobs.now().addingTimeInterval(Backoff.exponential().delay(afterAttempt: job.attempt).seconds))
            logger.error("job has no registered handler")
        }
        let elapsed = ContinuousClock.now - started
        let label: String
        switch outcome {
        case .completed:
            label = "completed"
            logger.debug("job completed")
        case .failed(let message, _):
            label = job.attempt < job.maxAttempts ? "retried" : "discarded"
            Counter(label: "banksync_jobs_failed_total", dimensions: [("job", job.name)]).increment()
            logger.warning("job attempt failed", metadata: ["attempt": "\(job.attempt)", "error": "\(message)"])
        case .discarded(let message):
            label = "discarded"
            logger.error("job discarded", metadata: ["attempt": "\(job.attempt)", "error": "\(message)"])
        case .snoozed:
            label = "snoozed"
        case .released:
            label = "released"
        }
        Counter(label: "banksync_jobs_\(label)_total", dimensions: [("job", job.name)]).increment()
        Timer(label: "banksync_job_duration_seconds", dimensions: [("job", job.name), ("outcome", label)])
            .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        return outcome
    }

    private func run(_ entry: JobRegistry.Entry, job: ClaimedJob, context: JobContext, state: WorkerState) async -> JobOutcome {
        do {
            let result = try await withThrowingTaskGroup(of: String?.self) { group in
                group.addTask { try await entry.run(job.payload, context) }
                group.addTask {
                    try await Task.sleep(for: job.timeout)
                    throw JobTimeout(timeout: job.timeout)
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
            return .completed(result: result)
        } catch let error as PayloadDecodingError {
            return .discarded(message: error.description)
        } catch let control as JobControl {
            switch control {
            case .snooze(let delay): return .snoozed(until: jobs.now().addingTimeInterval(delay.seconds))
            case .retry(let delay, let reason): return .failed(message: reason, retryAt: jobs.now().addingTimeInterval(delay.seconds))
            case .discard(let reason): return .discarded(message: reason)
            }
        } catch let timeout as JobTimeout {
            return .failed(message: timeout.description, retryAt: retryTime(entry, attempt: job.attempt))
        } catch {
            if state.isShuttingDown { return .released }
            return .failed(message: "\(error)", retryAt: retryTime(entry, attempt: job.attempt))
        }
    }

    private func retryTime(_ entry: JobRegistry.Entry, attempt: Int) -> Date {
        jobs.now().addingTimeInterval(entry.options.backoff.delay(afterAttempt: attempt).seconds)
    }
}

/// An attempt ran past its definition's timeout; its task was cancelled.
struct JobTimeout: Error, CustomStringConvertible {
    let timeout: Duration
    var description: String { "timed out after \(timeout)" }
}

/// A worker's bookkeeping, shared by its loop, its handler tasks and its heartbeat.
final class WorkerState: Sendable {
    private struct State {
        var inFlight: [String: ClaimedJob] = [:]
        var finished: [(ClaimedJob, JobOutcome)] = []
        var stopping = false
        var shuttingDown = false
    }

    private let state = Mutex(State())

    var isStopping: Bool { state.withLock { $0.stopping } }
    var isShuttingDown: Bool { state.withLock { $0.shuttingDown } }
    var inFlightCount: Int { state.withLock { $0.inFlight.count } }
    /// Running and finished-but-unrecorded jobs: all still hold a lease.
    var leasedIDs: [String] { state.withLock { Array($0.inFlight.keys) + $0.finished.map(\.0.id) } }

    func start(_ job: ClaimedJob) { state.withLock { $0.inFlight[job.id] = job } }
    /// Records an outcome; returns how many finished outcomes wait to be written.
    @discardableResult
    func finish(_ job: ClaimedJob, _ outcome: JobOutcome) -> Int {
        state.withLock {
            $0.inFlight[job.id] = nil
            $0.finished.append((job, outcome))
            return $0.finished.count
        }
    }
    var hasFinished: Bool { state.withLock { !$0.finished.isEmpty } }
    func takeFinished() -> [(ClaimedJob, JobOutcome)] {
        state.withLock { state in
            defer { state.finished = [] }
            return state.finished
        }
    }
    func requeueFinished(_ items: [(ClaimedJob, JobOutcome)]) { state.withLock { $0.finished.insert(contentsOf: items, at: 0) } }
    func stop() { state.withLock { $0.stopping = true } }
    func markShuttingDown() { state.withLock { $0.shuttingDown = true } }
}
