public import BankSyncStore
import Foundation
import SQLKit
public import Logging
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
        /// How long shutdown then waits for cancelled handlers to return. A handler still running
        /// after it (one that ignores cancellation) is left behind: its job stays leased until
        /// the lease expires and it is rescued.
        public var cancellationGrace: Duration

        public init(
            queue: String = "default", concurrency: Int = 10, leaseDuration: Duration = .seconds(30),
            pollInterval: Duration = .seconds(1), shutdownDeadline: Duration = .seconds(20), cancellationGrace: Duration = .seconds(5)
        ) {
            self.queue = queue
            self.concurrency = max(1, concurrency)
            self.leaseDuration = leaseDuration
            self.pollInterval = pollInterval
            self.shutdownDeadline = shutdownDeadline
            self.cancellationGrace = cancellationGrace
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
        let state = WorkerState(meters: JobMeters(queue: configuration.queue))
        logger.info("job worker started", metadata: ["concurrency": "\(configuration.concurrency)"])
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.heartbeatLoop(state) }
                group.addTask { await self.deadlineLoop(state) }
                // Claim when at least half the slots are free (or nothing runs), so claims come in
                // batches instead of one round trip per finished job: each claim and each commit
                // costs far more than a row in it (SQLite: batches of 50 drained twice as fast as
                // batches of 25 in a measurement of the same statements; PostgreSQL plans each
                // claim afresh, ~0.6 ms).
                let claimThreshold = max(1, configuration.concurrency / 2)
                while !state.isStopping && !Task.isCancelled {
                    let inFlight = state.inFlightCount
                    let free = configuration.concurrency - inFlight
                    let wantClaim = free >= claimThreshold || (inFlight == 0 && free > 0)
                    var claimed: [ClaimedJob] = []
                    if wantClaim {
                        claimed = await flushAndClaim(state, limit: free)
                    } else {
                        await flush(state)
                    }
                    for job in claimed { launch(job, state: state, wake: wake, claimThreshold: claimThreshold) }
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
                // What is still running is cancelled; its handlers end as `.released`. A handler
                // that ignores cancellation must not keep the process from stopping: after a short
                // grace its job is left running, and its lease expires and it is rescued.
                state.markShuttingDown()
                let handles = state.cancelRunning()
                let ended = WakeSignal()
                Task {
                    for handle in handles { await handle.value }
                    ended.signal()
                }
                await ended.wait(timeout: configuration.cancellationGrace)
                let stuck = state.inFlightCount
                if stuck > 0 {
                    logger.warning(
                        "jobs ignored cancellation at shutdown; their leases will expire and they will be rescued",
                        metadata: ["count": "\(stuck)"])
                }
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

    /// Starts one attempt in its own task. One task per job, and no timer per job: the
    /// ``deadlineLoop(_:)`` cancels attempts that outlive their timeout.
    private func launch(_ job: ClaimedJob, state: WorkerState, wake: WakeSignal, claimThreshold: Int) {
        let attempt = state.start(job, deadline: ContinuousClock.now + job.timeout)
        let handle = Task {
            let outcome = await self.execute(job, attempt: attempt, state: state)
            // Wake the loop once enough slots are free to claim a batch, or when the last job
            // finishes; otherwise the loop's short wait flushes.
            let (finished, running) = state.finish(job, outcome)
            if finished >= claimThreshold || running == 0 { wake.signal() }
        }
        attempt.attach(handle)
    }

    /// Cancels attempts past their deadline, checking at the earliest deadline and at least
    /// every 100 ms (a job that starts meanwhile with a shorter timeout is caught then).
    private func deadlineLoop(_ state: WorkerState) async {
        while !Task.isCancelled {
            let now = ContinuousClock.now
            let next = state.cancelOverdue(now: now)
            let wait = next.map { min(max($0 - now, .milliseconds(1)), .milliseconds(100)) } ?? .milliseconds(100)
            do { try await Task.sleep(for: wait) } catch { return }
        }
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

    /// Splits finished attempts into completions (written in one statement) and the rest.
    private static func split(_ finished: [(ClaimedJob, JobOutcome)]) -> ([Completion], [(ClaimedJob, JobOutcome)]) {
        var completions: [Completion] = []
        var others: [(ClaimedJob, JobOutcome)] = []
        for (job, outcome) in finished {
            if case .completed(let result) = outcome {
                completions.append(Completion(id: job.id, attempt: job.attempt, result: result))
            } else {
                others.append((job, outcome))
            }
        }
        return (completions, others)
    }

    /// Writes finished outcomes and claims up to `limit` jobs, in one commit where it can.
    /// When every outcome is a completion (the usual case):
    /// ``JobStore/completeAndClaim(_:releasingLocks:queue:limit:worker:now:leaseMilliseconds:in:)``,
    /// on PostgreSQL one statement, a round trip and a commit less per cycle. Otherwise:
    /// - SQLite: the outcomes and the claim in one transaction. SQLite pays per commit (the WAL
    ///   frames of every page touched), and outcomes and claims touch the same index pages.
    /// - PostgreSQL: the outcomes' transaction, then the claim.
    ///
    /// If writing the outcomes fails, nothing was claimed and they are kept for the next try.
    private func flushAndClaim(_ state: WorkerState, limit: Int) async -> [ClaimedJob] {
        let finished = state.takeFinished()
        let now = jobs.now().millisecondsSince1970
        let (completions, others) = Self.split(finished)
        let lease = configuration.leaseDuration.milliseconds
        do {
            if others.isEmpty {
                return try await jobs.store.completeAndClaim(
                    completions, releasingLocks: finished.contains { $0.0.lockKey != nil }, queue: configuration.queue,
                    limit: limit, worker: workerID, now: now, leaseMilliseconds: lease, in: jobs.database)
            }
            switch jobs.database.engine {
            case .sqlite:
                return try await jobs.database.transaction { db in
                    try await write(completions, others, now: now, on: db)
                    return try await jobs.store.claimGeneric(
                        queue: configuration.queue, limit: limit, worker: workerID, now: now, leaseMilliseconds: lease, on: db)
                }
            case .postgres:
                try await jobs.database.transaction { db in try await write(completions, others, now: now, on: db) }
            }
        } catch {
            logger.warning("recording job outcomes and claiming failed; will retry", metadata: ["error": "\(error)", "count": "\(finished.count)"])
            state.requeueFinished(finished)
            return []
        }
        return await claim(limit: limit)
    }

    /// Writes finished outcomes: completions in one statement, the rest one by one, all in one transaction.
    private func flush(_ state: WorkerState) async {
        let finished = state.takeFinished()
        guard !finished.isEmpty else { return }
        let now = jobs.now().millisecondsSince1970
        let (completions, others) = Self.split(finished)
        do {
            if others.isEmpty {
                let releasingLocks = finished.contains { $0.0.lockKey != nil }
                try await jobs.store.complete(completions, releasingLocks: releasingLocks, worker: workerID, now: now, in: jobs.database)
            } else {
                try await jobs.database.transaction { db in try await write(completions, others, now: now, on: db) }
            }
        } catch {
            logger.warning("recording job outcomes failed; will retry", metadata: ["error": "\(error)", "count": "\(finished.count)"])
            state.requeueFinished(finished)
        }
    }

    /// The outcomes' statements on `db`, inside the caller's transaction.
    private func write(_ completions: [Completion], _ others: [(ClaimedJob, JobOutcome)], now: Int64, on db: any SQLDatabase) async throws {
        try await jobs.store.complete(completions, worker: workerID, now: now, on: db)
        for (job, outcome) in others {
            try await jobs.store.settle(job, outcome: outcome, worker: workerID, now: now, on: db)
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
    func execute(_ job: ClaimedJob, attempt: Attempt, state: WorkerState) async -> JobOutcome {
        state.meters.started(job.name, latencyNanoseconds: Int64(max(0, jobs.now().timeIntervalSince(job.dueAt)) * 1e9))
        let started = ContinuousClock.now
        let outcome: JobOutcome
        if let entry = registry.entries[job.name] {
            let context = JobContext(jobID: job.id, name: job.name, attempt: job.attempt, maxAttempts: job.maxAttempts, logger: self.logger)
            outcome = await run(entry, job: job, context: context, attempt: attempt, state: state)
        } else {
            // Reported, not dropped: the attempt fails with the reason and retries (another
            // process may know the job, e.g. during a rolling deploy) until it is discarded.
            outcome = .failed(
                message: "no handler is registered for job '\(job.name)' in this process (registered: \(registry.names.joined(separator: ", ")))",
                retryAt: jobs.now().addingTimeInterval(Backoff.exponential().delay(afterAttempt: job.attempt).seconds))
            jobLogger(job).error("job has no registered handler")
        }
        let elapsed = ContinuousClock.now - started
        let label: String
        var failed = false
        switch outcome {
        case .completed:
            label = "completed"
            if logger.logLevel <= .debug { jobLogger(job).debug("job completed") }
        case .failed(let message, _):
            label = job.attempt < job.maxAttempts ? "retried" : "discarded"
            failed = true
            jobLogger(job).warning("job attempt failed", metadata: ["attempt": "\(job.attempt)", "error": "\(message)"])
        case .discarded(let message):
            label = "discarded"
            jobLogger(job).error("job discarded", metadata: ["attempt": "\(job.attempt)", "error": "\(message)"])
        case .snoozed:
            label = "snoozed"
        case .released:
            label = "released"
        }
        state.meters.finished(
            job.name, outcome: label, failed: failed,
            nanoseconds: elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        return outcome
    }

    private func run(_ entry: JobRegistry.Entry, job: ClaimedJob, context: JobContext, attempt: Attempt, state: WorkerState) async -> JobOutcome {
        do {
            let result = try await entry.run(job.payload, context)
            // A handler that ignored its cancellation and returned late still timed out.
            if attempt.timedOut { return timeoutOutcome(entry, job: job) }
            return .completed(result: result)
        } catch let error as PayloadDecodingError {
            return .discarded(message: error.description)
        } catch let control as JobControl {
            switch control {
            case .snooze(let delay): return .snoozed(until: jobs.now().addingTimeInterval(delay.seconds))
            case .retry(let delay, let reason): return .failed(message: reason, retryAt: jobs.now().addingTimeInterval(delay.seconds))
            case .discard(let reason): return .discarded(message: reason)
            }
        } catch {
            if attempt.timedOut { return timeoutOutcome(entry, job: job) }
            if state.isShuttingDown { return .released }
            return .failed(message: "\(error)", retryAt: retryTime(entry, attempt: job.attempt))
        }
    }

    private func timeoutOutcome(_ entry: JobRegistry.Entry, job: ClaimedJob) -> JobOutcome {
        .failed(message: "timed out after \(job.timeout)", retryAt: retryTime(entry, attempt: job.attempt))
    }

    /// This worker's logger with the job's ids attached.
    private func jobLogger(_ job: ClaimedJob) -> Logger {
        var logger = self.logger
        logger[metadataKey: "job_id"] = "\(job.id)"
        logger[metadataKey: "job"] = "\(job.name)"
        return logger
    }

    private func retryTime(_ entry: JobRegistry.Entry, attempt: Int) -> Date {
        jobs.now().addingTimeInterval(entry.options.backoff.delay(afterAttempt: attempt).seconds)
    }
}

/// One running attempt: its deadline, its task and whether the deadline passed. The job's own
/// task holds it, so checking for a timeout needs no lookup in the worker's table.
final class Attempt: Sendable {
    let deadline: ContinuousClock.Instant
    private let control = Mutex<(task: Task<Void, Never>?, timedOut: Bool)>((nil, false))

    init(deadline: ContinuousClock.Instant) {
        self.deadline = deadline
    }

    /// Whether the deadline loop cancelled this attempt for running too long.
    var timedOut: Bool { control.withLock { $0.timedOut } }

    /// Keeps the attempt's task so it can be cancelled; cancels it at once if the deadline
    /// passed before the task was attached.
    func attach(_ task: Task<Void, Never>) {
        let overdue = control.withLock { control -> Bool in
            control.task = task
            return control.timedOut
        }
        if overdue { task.cancel() }
    }

    /// Marks the attempt timed out (once) and cancels its task if it has one.
    func timeOut() {
        let task = control.withLock { control -> Task<Void, Never>? in
            guard !control.timedOut else { return nil }
            control.timedOut = true
            return control.task
        }
        task?.cancel()
    }

    var task: Task<Void, Never>? { control.withLock { $0.task } }
}

/// A worker's bookkeeping, shared by its loop, its job tasks, its heartbeat and its deadline loop.
final class WorkerState: Sendable {
    /// A running attempt's key: the job and which attempt of it. By id alone, an attempt that
    /// outlived its lease and the attempt of the same job claimed again after the rescue would
    /// share an entry, and the first to finish would remove the other's.
    private struct Key: Hashable {
        let id: String
        let attempt: Int
    }

    private struct State {
        var inFlight: [Key: Attempt] = [:]
        var finished: [(ClaimedJob, JobOutcome)] = []
        var stopping = false
        var shuttingDown = false
    }

    private let state = Mutex(State())
    /// The worker's metrics handles, made when its run began.
    let meters: JobMeters

    init(meters: JobMeters) { self.meters = meters }

    var isStopping: Bool { state.withLock { $0.stopping } }
    var isShuttingDown: Bool { state.withLock { $0.shuttingDown } }
    var inFlightCount: Int { state.withLock { $0.inFlight.count } }
    /// Running and finished-but-unrecorded jobs: all still hold a lease.
    var leasedIDs: [String] { state.withLock { $0.inFlight.keys.map(\.id) + $0.finished.map(\.0.id) } }

    /// Records `job` as running until `deadline`.
    func start(_ job: ClaimedJob, deadline: ContinuousClock.Instant) -> Attempt {
        let attempt = Attempt(deadline: deadline)
        state.withLock { $0.inFlight[Key(id: job.id, attempt: job.attempt)] = attempt }
        return attempt
    }

    /// Records an outcome; returns how many outcomes wait to be written and how many jobs still run.
    func finish(_ job: ClaimedJob, _ outcome: JobOutcome) -> (finished: Int, running: Int) {
        state.withLock {
            $0.inFlight[Key(id: job.id, attempt: job.attempt)] = nil
            $0.finished.append((job, outcome))
            return ($0.finished.count, $0.inFlight.count)
        }
    }

    /// Cancels every attempt past its deadline; returns the earliest deadline still ahead.
    func cancelOverdue(now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        var overdue: [Attempt] = []
        let next = state.withLock { state -> ContinuousClock.Instant? in
            var next: ContinuousClock.Instant?
            for attempt in state.inFlight.values {
                if attempt.deadline <= now {
                    overdue.append(attempt)
                } else if next == nil || attempt.deadline < next! {
                    next = attempt.deadline
                }
            }
            return next
        }
        for attempt in overdue { attempt.timeOut() }
        return next
    }

    /// Cancels every running attempt (shutdown) and returns their tasks to wait for.
    func cancelRunning() -> [Task<Void, Never>] {
        let tasks = state.withLock { $0.inFlight.values.compactMap(\.task) }
        for task in tasks { task.cancel() }
        return tasks
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
