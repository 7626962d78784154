/// Errors a handler throws to steer its job instead of plainly failing.
///
/// Any other error is a retryable failure: the job runs again after its ``Backoff`` until
/// ``JobOptions/maxAttempts`` is used up, then it is discarded.
public enum JobControl: Error, Sendable, Equatable {
    /// Run again after `delay` without using an attempt (a provider's rate limit until its reset).
    case snooze(Duration)
    /// Fail this attempt and retry after `delay` instead of the backoff (a provider's Retry-After).
    case retry(after: Duration, reason: String)
    /// Give up now: the error is permanent (bad credentials, a payload that makes no sense).
    case discard(reason: String)
}
