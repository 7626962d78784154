public import struct Foundation.Date

/// A tenant's receiver of outbound webhooks: every event of the tenant whose type matches
/// ``eventTypes`` is POSTed to ``url``, signed with the endpoint's secret (see
/// docs/WEBHOOKS.md). The secret itself is not part of this value: it is stored sealed and
/// only handed out once, when created or rotated.
public struct WebhookEndpoint: Sendable, Equatable {
    public var id: Identifier<WebhookEndpoint>
    public var tenantID: Identifier<Tenant>
    public var url: String
    public var description: String?
    /// Event type names, `prefix.*` or `*` (``EventType/matches(_:_:)``).
    public var eventTypes: [String]
    public var createdAt: Date
    public var updatedAt: Date
    /// Since when every attempt has failed (nil: the last attempt succeeded, or none was made).
    public var failingSince: Date?
    public var lastSuccessAt: Date?
    /// Set when BankSync stopped delivering to it (failing for too long) or the tenant did.
    public var disabledAt: Date?
    public var disabledReason: String?

    public init(
        id: Identifier<WebhookEndpoint> = .generate(), tenantID: Identifier<Tenant>, url: String, description: String? = nil, eventTypes: [String],
        createdAt: Date, updatedAt: Date? = nil, failingSince: Date? = nil, lastSuccessAt: Date? = nil, disabledAt: Date? = nil, disabledReason: String? = nil
    ) {
        self.id = id
        self.tenantID = tenantID
        self.url = url
        self.description = description
        self.eventTypes = eventTypes
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
        self.failingSince = failingSince
        self.lastSuccessAt = lastSuccessAt
        self.disabledAt = disabledAt
        self.disabledReason = disabledReason
    }

    /// Whether this endpoint receives events of `type`.
    public func subscribes(to type: String) -> Bool { eventTypes.contains { EventType.matches($0, type) } }
}

/// Where one delivery of one event to one endpoint stands.
public enum WebhookDeliveryState: String, Sendable, Codable, CaseIterable {
    /// Waiting for its first attempt or its next retry.
    case pending
    /// The receiver answered 2xx.
    case delivered
    /// Retried for the whole retry period (24 hours) without a 2xx, or refused permanently.
    case failed
    /// Not attempted: its endpoint was disabled or deleted first.
    case skipped
}

/// One event on its way to one endpoint; replays are new deliveries that name the original.
public struct WebhookDelivery: Sendable, Equatable {
    public var id: Identifier<WebhookDelivery>
    public var endpointID: Identifier<WebhookEndpoint>
    public var eventID: Identifier<Event>
    public var tenantID: Identifier<Tenant>
    public var eventType: String
    public var state: WebhookDeliveryState
    public var attempts: Int
    /// The last attempt's HTTP status, if it got one.
    public var lastStatus: Int?
    /// The last attempt's outcome in words (``WebhookAttempt/outcome``).
    public var lastOutcome: String?
    public var replayOf: Identifier<WebhookDelivery>?
    public var createdAt: Date
    public var finishedAt: Date?

    public init(
        id: Identifier<WebhookDelivery> = .generate(), endpointID: Identifier<WebhookEndpoint>, eventID: Identifier<Event>, tenantID: Identifier<Tenant>,
        eventType: String, state: WebhookDeliveryState = .pending, attempts: Int = 0, lastStatus: Int? = nil, lastOutcome: String? = nil,
        replayOf: Identifier<WebhookDelivery>? = nil, createdAt: Date, finishedAt: Date? = nil
    ) {
        self.id = id
        self.endpointID = endpointID
        self.eventID = eventID
        self.tenantID = tenantID
        self.eventType = eventType
        self.state = state
        self.attempts = attempts
        self.lastStatus = lastStatus
        self.lastOutcome = lastOutcome
        self.replayOf = replayOf
        self.createdAt = createdAt
        self.finishedAt = finishedAt
    }
}

/// One HTTP attempt of a delivery, as the attempt log keeps it.
public struct WebhookAttempt: Sendable, Equatable {
    public var deliveryID: Identifier<WebhookDelivery>
    /// 1, 2, 3… within the delivery.
    public var attempt: Int
    public var startedAt: Date
    public var durationMilliseconds: Int
    public var statusCode: Int?
    /// `delivered`, `http_error`, `redirect_refused`, `timeout`, `connect_failed` or
    /// `address_refused` (an answer cut at the size limit is noted in ``error``).
    public var outcome: String
    /// What went wrong, in words (no secrets).
    public var error: String?
    /// The start of the receiver's answer (at most 512 bytes, control characters removed).
    public var responseExcerpt: String?

    public init(
        deliveryID: Identifier<WebhookDelivery>, attempt: Int, startedAt: Date, durationMilliseconds: Int, statusCode: Int?, outcome: String,
        error: String? = nil, responseExcerpt: String? = nil
    ) {
        self.deliveryID = deliveryID
        self.attempt = attempt
        self.startedAt = startedAt
        self.durationMilliseconds = durationMilliseconds
        self.statusCode = statusCode
        self.outcome = outcome
        self.error = error
        self.responseExcerpt = responseExcerpt
    }

    /// Whether the receiver took it.
    public var succeeded: Bool { statusCode.map { (200..<300).contains($0) } ?? false }
}
