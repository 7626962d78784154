/// A kind of job: a name, the payload it takes, the result it produces, and how it runs.
///
/// Definitions are values declared once (`static let syncBank = JobDefinition<SyncBank, SyncResult>(…)`)
/// and used both to register a handler and to enqueue, so enqueueing the wrong payload for a
/// name does not compile. The name is what is stored: renaming a definition orphans its queued jobs.
public struct JobDefinition<Payload: Codable & Sendable, Output: Codable & Sendable>: Sendable {
    public let name: String
    public var options: JobOptions
    /// Derives the unique key of a job from its payload (e.g. `"sync-bank:<connection id>"`).
    public var uniqueKey: (@Sendable (Payload) -> String?)?
    /// Derives the mutual-exclusion key from its payload (e.g. the connection id): at most one
    /// job holding a given key runs at a time, across all processes.
    public var lockKey: (@Sendable (Payload) -> String?)?

    public init(
        name: String, options: JobOptions = JobOptions(), uniqueKey: (@Sendable (Payload) -> String?)? = nil,
        lockKey: (@Sendable (Payload) -> String?)? = nil
    ) {
        self.name = name
        self.options = options
        self.uniqueKey = uniqueKey
        self.lockKey = lockKey
    }
}

/// How a job runs: where, how often, how long.
public struct JobOptions: Sendable, Equatable {
    /// The queue whose workers run it.
    public var queue: String
    /// Lower runs first (0 is the default; negative values jump the line).
    public var priority: Int
    /// Attempts before a failing job is discarded (a snooze does not count).
    public var maxAttempts: Int
    public var backoff: Backoff
    /// How long one attempt may run before its task is cancelled and the attempt counts as failed.
    public var timeout: Duration
    /// Finished states in which the unique key keeps blocking duplicates. A key always blocks
    /// while the job is available, retryable or running; add `.completed` to make a job run
    /// once ever (until pruned).
    public var uniqueAcrossFinished: Set<JobState>
    /// Whether the unique key keeps blocking while the job runs (true: the default). False
    /// releases it when an attempt starts, so an enqueue meanwhile makes one new job that runs
    /// after this one (with a lock key, not beside it): for work whose running attempt may have
    /// read its input before the event that asked for it again, such as a sync after a webhook.
    /// The released key is not taken back if the attempt fails and is retried.
    public var uniqueWhileRunning: Bool

    public init(
        queue: String = "default", priority: Int = 0, maxAttempts: Int = 25, backoff: Backoff = .exponential(),
        timeout: Duration = .seconds(60), uniqueAcrossFinished: Set<JobState> = [], uniqueWhileRunning: Bool = true
    ) {
        self.queue = queue
        self.priority = priority
        self.maxAttempts = max(1, maxAttempts)
        self.backoff = backoff
        self.timeout = timeout
        self.uniqueAcrossFinished = uniqueAcrossFinished.intersection(JobState.finished)
        self.uniqueWhileRunning = uniqueWhileRunning
    }

    /// The stored form of the key's lifetime (`jobs.unique_finished_states`): the finished states
    /// that keep it, comma-delimited, and `running-released` when an attempt's start releases it.
    var storedUniqueStates: String {
        "," + uniqueAcrossFinished.map(\.rawValue).sorted().map { $0 + "," }.joined() + (uniqueWhileRunning ? "" : "\(Self.releasedAtStart),")
    }

    /// The marker in `unique_finished_states` that the claim statements look for.
    static let releasedAtStart = "running-released"
}

/// The delay before a failed job's next attempt.
public struct Backoff: Sendable, Equatable {
    /// Delay after the first failure.
    public var base: Duration
    /// The delay never exceeds this.
    public var cap: Duration
    /// Fraction of the delay that is random (0.1 = ±10 %), so failures of many jobs spread out.
    public var jitter: Double

    /// `base · 2^(attempt-1)`, capped, with jitter.
    public static func exponential(base: Duration = .seconds(1), cap: Duration = .seconds(3_600), jitter: Double = 0.1)
        -> Backoff
    {
        Backoff(base: base, cap: cap, jitter: min(1, max(0, jitter)))
    }

    /// The delay after failed attempt number `attempt` (1-based). `random` yields 0..<1.
    public func delay(afterAttempt attempt: Int, random: Double = Double.random(in: 0..<1)) -> Duration {
        let exponent = min(max(attempt - 1, 0), 40)
        let raw = base.seconds * pow2(exponent)
        let capped = min(raw, cap.seconds)
        let factor = 1 + jitter * (2 * random - 1)
        return .milliseconds(Int64(max(0, capped * factor) * 1000))
    }

    private func pow2(_ n: Int) -> Double {
        var value = 1.0
        for _ in 0..<n { value *= 2 }
        return value
    }
}

extension Duration {
    /// The duration in seconds as a `Double`.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
