public import BankSyncCore
public import BankSyncJobs
public import Foundation

/// `deliver-webhook`: one delivery of one event to one endpoint (ids only; the body is built
/// from the stored event when the attempt is made).
public struct WebhookDeliveryJob: Codable, Sendable, Equatable {
    public var deliveryID: String

    public init(deliveryID: Identifier<WebhookDelivery>) { self.deliveryID = deliveryID.rawValue }

    public var delivery: Identifier<WebhookDelivery> { Identifier(deliveryID) }
}

/// The notification jobs.
public enum NotificationJobs {
    /// Retries are scheduled by the handler (``WebhookSettings/retryDelay(afterAttempt:)``, for
    /// ``WebhookSettings/retryPeriod``), so the attempt budget is only a backstop.
    public static let deliverWebhook = JobDefinition<WebhookDeliveryJob, SyncJobResult>(
        name: "deliver-webhook", options: JobOptions(queue: "webhooks", maxAttempts: 200, timeout: .seconds(60)), uniqueKey: { $0.deliveryID })
    /// Daily: deletes finished deliveries (with their attempts) past
    /// ``WebhookSettings/deliveryRetention`` and events past the engine's `eventRetention`.
    public static let pruneNotifications = JobDefinition<EmptyResult, SyncJobResult>(
        name: "prune-notifications", options: JobOptions(maxAttempts: 3, timeout: .seconds(1_800)))
}

/// How outbound webhooks are delivered.
public struct WebhookSettings: Sendable {
    /// Sends the POSTs; nil in a process that does not deliver (its delivery jobs wait for one that does).
    public var transport: (any WebhookTransport)?
    /// Where endpoints may point (loopback and private addresses are refused unless allowed).
    public var addressPolicy = WebhookAddressPolicy()
    /// One attempt's deadline.
    public var attemptTimeout: Duration = .seconds(10)
    /// Answer bytes read at most (the rest of a larger answer is not read).
    public var maxResponseBytes = 65_536
    /// How long a delivery is retried before it is recorded as failed (24 hours).
    public var retryPeriod: TimeInterval = 86_400
    /// The first retry's delay; each next one doubles, up to ``maxRetryDelay``.
    public var firstRetryDelay: TimeInterval = 30
    public var maxRetryDelay: TimeInterval = 7_200
    /// An endpoint whose every attempt failed for this long is disabled and its tenant told (3 days).
    public var disableAfter: TimeInterval = 3 * 86_400
    /// After a secret is rotated, deliveries carry a signature with the old one too, this long.
    public var secretOverlap: TimeInterval = 86_400
    /// Finished deliveries and their attempt logs are kept this long (30 days).
    public var deliveryRetention: TimeInterval = 30 * 86_400

    public init() {}

    /// The delay before the retry that follows failed attempt `attempt` (1-based), before jitter.
    public func retryDelay(afterAttempt attempt: Int) -> TimeInterval {
        min(firstRetryDelay * pow(2, Double(max(attempt, 1) - 1)), maxRetryDelay)
    }
}
