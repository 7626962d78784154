public import Foundation

/// What `enqueue` returns: the job's id and a token that lets its holder read its status.
///
/// The token is random and stored only as a SHA-256 hash. When a unique key matched an
/// existing job, ``id`` is that job's and ``isDuplicate`` is true; ``accessToken`` is then nil,
/// since the existing job's token cannot be recovered.
public struct EnqueuedJob: Sendable, Hashable {
    public let id: String
    public let accessToken: String?
    public let isDuplicate: Bool
}

/// One failed attempt, kept in the job's error history.
public struct JobErrorRecord: Sendable, Codable, Hashable {
    public var attempt: Int
    /// Milliseconds since the Unix epoch.
    public var at: Int64
    public var message: String
}

/// A job as the status API shows it.
public struct JobStatus: Sendable, Hashable {
    public var id: String
    public var name: String
    public var queue: String
    public var state: JobState
    public var attempt: Int
    public var maxAttempts: Int
    public var createdAt: Date
    public var scheduledAt: Date
    public var attemptedAt: Date?
    public var finalizedAt: Date?
    /// The handler's result as JSON, for completed jobs.
    public var result: String?
    public var errors: [JobErrorRecord]

    /// The most recent error, if any attempt failed.
    public var lastError: JobErrorRecord? { errors.last }
}

/// A job as a worker holds it after claiming.
struct ClaimedJob: Sendable {
    let id: String
    let name: String
    let payload: String
    /// The attempt now running (1-based).
    let attempt: Int
    let maxAttempts: Int
    let timeout: Duration
    let lockKey: String?
    /// When the job became due: the later of creation and its scheduled time.
    let dueAt: Date
}

/// A completed attempt to record: the job, which attempt it was, and its result (JSON).
/// The attempt is part of the match, so an attempt that outlived its lease (rescued, claimed
/// again) cannot settle the attempt that now runs.
struct Completion: Sendable {
    let id: String
    let attempt: Int
    let result: String?
}

/// How an attempt ended.
enum JobOutcome: Sendable {
    case completed(result: String?)
    case failed(message: String, retryAt: Date?)
    case snoozed(until: Date)
    case discarded(message: String)
    /// Given back unfinished (shutdown): available again, attempt not counted.
    case released
}

/// A job as an operator's list shows it (``JobQueue/recent(limit:)``): its status and payload.
public struct JobSummary: Sendable, Hashable {
    public var status: JobStatus
    /// The payload's JSON text (ids only, by the engine's rule).
    public var payload: String
}
