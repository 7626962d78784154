import Metrics
import Synchronization

/// A worker's counters and timers, made once per job name (and outcome) and kept, instead of
/// made again for every job.
///
/// Each `Counter(label:dimensions:)` asks the bootstrapped factory for its handler; with
/// Prometheus that is a locked lookup in the registry that builds the label set each time. Made
/// per job, the four a job records were 8 % of the worker process's CPU in a drain of no-op jobs
/// (`banksync bench queue`, which records metrics the way `serve` and `worker` do).
///
/// Made inside ``JobWorker/run()``, after the process has bootstrapped its metrics system:
/// a handle made before that would keep the no-op handler for good.
final class JobMeters: Sendable {
    /// The meters of one job name.
    private final class ForJob: Sendable {
        let started: Counter
        let failed: Counter
        /// Outcome count and duration, by outcome label, made on first use: a histogram per
        /// outcome that never happens would only add empty series to `/metrics`.
        let outcomes = Mutex<[String: (count: Counter, duration: Timer)]>([:])

        init(job: String) {
            started = Counter(label: "banksync_jobs_started_total", dimensions: [("job", job)])
            failed = Counter(label: "banksync_jobs_failed_total", dimensions: [("job", job)])
        }

        func outcome(_ label: String, job: String) -> (count: Counter, duration: Timer) {
            outcomes.withLock { outcomes in
                if let meters = outcomes[label] { return meters }
                let meters = (
                    count: Counter(label: "banksync_jobs_\(label)_total", dimensions: [("job", job)]),
                    duration: Timer(label: "banksync_job_duration_seconds", dimensions: [("job", job), ("outcome", label)])
                )
                outcomes[label] = meters
                return meters
            }
        }
    }

    /// Enqueue→start latency of the worker's queue.
    private let startLatency: Timer
    private let byJob = Mutex<[String: ForJob]>([:])

    init(queue: String) {
        startLatency = Timer(label: "banksync_job_start_latency_seconds", dimensions: [("queue", queue)])
    }

    private func meters(_ job: String) -> ForJob {
        byJob.withLock { byJob in
            if let meters = byJob[job] { return meters }
            let meters = ForJob(job: job)
            byJob[job] = meters
            return meters
        }
    }

    /// Counts an attempt of `job` starting `latencyNanoseconds` after it was due.
    func started(_ job: String, latencyNanoseconds: Int64) {
        meters(job).started.increment()
        startLatency.recordNanoseconds(latencyNanoseconds)
    }

    /// Records an attempt's outcome (`label`: completed, retried, discarded, snoozed, released)
    /// and how long it ran; `failed` also counts it in `banksync_jobs_failed_total`.
    func finished(_ job: String, outcome label: String, failed: Bool, nanoseconds: Int64) {
        let forJob = meters(job)
        if failed { forJob.failed.increment() }
        let outcome = forJob.outcome(label, job: job)
        outcome.count.increment()
        outcome.duration.recordNanoseconds(nanoseconds)
    }
}
