/// Where a job stands.
///
/// ```
/// available ─► running ─► completed
///     ▲           ├─► retryable ─► running …   (failure, attempts left: waits for its backoff)
///     └───────────┤   (snooze: back to available at a later time, attempt not used)
///                 ├─► discarded  (permanent error, attempts used up, payload undecodable)
/// available/retryable ─► cancelled (by request)
/// ```
public enum JobState: String, Sendable, Codable, CaseIterable, Hashable {
    case available
    case running
    case retryable
    case completed
    case discarded
    case cancelled

    /// The states a job never leaves.
    public static let finished: Set<JobState> = [.completed, .discarded, .cancelled]
}
