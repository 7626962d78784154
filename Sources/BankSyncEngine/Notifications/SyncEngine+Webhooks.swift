public import BankSyncCore
import BankSyncJobs
import BankSyncProviders
public import BankSyncStore
public import Foundation
import Logging
import Metrics
import SQLKit

extension SyncEngine {
    // MARK: Endpoints (the API and CLI call these)

    /// Registers a webhook endpoint for `tenantID`.
    /// - Returns: the endpoint and its signing secret (`whsec_…`), which is shown this once.
    /// - Throws: ``DomainError/invalidField(field:message:)`` for a URL the address policy
    ///   refuses (`url`) or an unknown event type (`events`).
    public func createWebhookEndpoint(
        tenantID: Identifier<Tenant>, url: String, eventTypes: [String], description: String? = nil
    ) async throws -> (WebhookEndpoint, secret: String) {
        try await validateEndpoint(url: url, eventTypes: eventTypes, description: description)
        let endpoint = WebhookEndpoint(tenantID: tenantID, url: url, description: description, eventTypes: eventTypes, createdAt: now)
        let secret = Self.makeWebhookSecret()
        try await store.webhooks.insert(endpoint, secret: secret)
        logger.info("webhook endpoint created", metadata: ["tenant_id": "\(tenantID)", "endpoint_id": "\(endpoint.id)"])
        return (endpoint, secret)
    }

    /// Changes an endpoint's URL, filter or description (nil keeps the current value).
    /// - Throws: ``StoreError`` `.notFound` for an endpoint of another tenant; ``DomainError`` as
    ///   ``createWebhookEndpoint(tenantID:url:eventTypes:description:)``.
    public func updateWebhookEndpoint(
        _ id: Identifier<WebhookEndpoint>, tenantID: Identifier<Tenant>, url: String? = nil, eventTypes: [String]? = nil, description: String? = nil
    ) async throws -> WebhookEndpoint {
        var endpoint = try await webhookEndpoint(id, tenantID: tenantID)
        try await validateEndpoint(url: url ?? endpoint.url, eventTypes: eventTypes ?? endpoint.eventTypes, description: description)
        if let url { endpoint.url = url }
        if let eventTypes { endpoint.eventTypes = eventTypes }
        if let description { endpoint.description = description }
        endpoint.updatedAt = now
        try await store.webhooks.update(endpoint)
        return endpoint
    }

    /// Disables an endpoint (nothing is sent to it; its waiting deliveries are skipped) or
    /// enables it again (its failure streak forgotten).
    public func setWebhookEndpointEnabled(_ id: Identifier<WebhookEndpoint>, tenantID: Identifier<Tenant>, enabled: Bool) async throws -> WebhookEndpoint {
        var endpoint = try await webhookEndpoint(id, tenantID: tenantID)
        if enabled {
            endpoint.disabledAt = nil
            endpoint.disabledReason = nil
            endpoint.failingSince = nil
        } else if endpoint.disabledAt == nil {
            endpoint.disabledAt = now
            endpoint.disabledReason = "disabled by the tenant"
        }
        endpoint.updatedAt = now
        try await store.webhooks.update(endpoint)
        return endpoint
    }

    /// Issues a new signing secret. Deliveries carry signatures with the old and the new one for
    /// ``WebhookSettings/secretOverlap``, so the receiver can switch without losing events.
    /// - Returns: the new secret, shown this once.
    public func rotateWebhookSecret(_ id: Identifier<WebhookEndpoint>, tenantID: Identifier<Tenant>) async throws -> String {
        _ = try await webhookEndpoint(id, tenantID: tenantID)
        let secret = Self.makeWebhookSecret()
        try await store.webhooks.rotateSecret(id, to: secret, previousValidUntil: now.addingTimeInterval(configuration.webhooks.secretOverlap), now: now)
        logger.info("webhook secret rotated", metadata: ["tenant_id": "\(tenantID)", "endpoint_id": "\(id)"])
        return secret
    }

    /// Deletes an endpoint with its delivery log; jobs still waiting for it end as skipped.
    /// - Returns: whether it existed for this tenant.
    @discardableResult
    public func deleteWebhookEndpoint(_ id: Identifier<WebhookEndpoint>, tenantID: Identifier<Tenant>) async throws -> Bool {
        try await store.webhooks.delete(id, tenantID: tenantID)
    }

    /// Sends a delivery's event again to the same endpoint, as a new delivery that names the
    /// original (any state: a delivered one is sent again too).
    /// - Throws: ``StoreError`` `.notFound` for another tenant's delivery, `.conflict` when the
    ///   endpoint is disabled (enable it first).
    public func replayWebhookDelivery(_ id: Identifier<WebhookDelivery>, tenantID: Identifier<Tenant>) async throws -> WebhookDelivery {
        guard let original = try await store.webhooks.delivery(id), original.tenantID == tenantID else {
            throw StoreError(.notFound, "webhook delivery \(id) does not exist")
        }
        let endpoint = try await webhookEndpoint(original.endpointID, tenantID: tenantID)
        guard endpoint.disabledAt == nil else { throw StoreError(.conflict, "webhook endpoint \(endpoint.id) is disabled: enable it before replaying") }
        let replay = WebhookDelivery(
            endpointID: endpoint.id, eventID: original.eventID, tenantID: tenantID, eventType: original.eventType, replayOf: original.replayOf ?? original.id,
            createdAt: now)
        try await store.database.transaction { db in
            try await store.webhooks.insert(replay, on: db)
            try await queue.enqueue(NotificationJobs.deliverWebhook, WebhookDeliveryJob(deliveryID: replay.id), in: db)
        }
        return replay
    }

    /// Sends again every event of the tenant created in `from..<to` that the endpoint
    /// subscribes to (now), oldest first, each as a new delivery. At most 10,000 per call.
    /// - Throws: as ``replayWebhookDelivery(_:tenantID:)``; ``DomainError`` when `from` is not before `to`.
    public func replayWebhookEvents(endpointID: Identifier<WebhookEndpoint>, tenantID: Identifier<Tenant>, from: Date, to: Date) async throws -> [WebhookDelivery] {
        guard from < to else { throw DomainError.invalidField(field: "from", message: "the range must start before it ends") }
        let endpoint = try await webhookEndpoint(endpointID, tenantID: tenantID)
        guard endpoint.disabledAt == nil else { throw StoreError(.conflict, "webhook endpoint \(endpoint.id) is disabled: enable it before replaying") }
        let events = try await store.events.list(tenantID: tenantID, from: from, to: to).filter { endpoint.subscribes(to: $0.type) }
        let deliveries = events.map { WebhookDelivery(endpointID: endpoint.id, eventID: $0.id, tenantID: tenantID, eventType: $0.type, createdAt: now) }
        for chunk in stride(from: 0, to: deliveries.count, by: 500).map({ Array(deliveries[$0..<min($0 + 500, deliveries.count)]) }) {
            try await store.database.transaction { db in
                for delivery in chunk { try await store.webhooks.insert(delivery, on: db) }
                try await queue.enqueueMany(chunk.map { JobQueue.Request(NotificationJobs.deliverWebhook, WebhookDeliveryJob(deliveryID: $0.id)) }, in: db)
            }
        }
        logger.info("webhook events replayed", metadata: ["tenant_id": "\(tenantID)", "endpoint_id": "\(endpointID)", "count": "\(deliveries.count)"])
        return deliveries
    }

    func webhookEndpoint(_ id: Identifier<WebhookEndpoint>, tenantID: Identifier<Tenant>) async throws -> WebhookEndpoint {
        guard let endpoint = try await store.webhooks.get(id), endpoint.tenantID == tenantID else {
            throw StoreError(.notFound, "webhook endpoint \(id) does not exist")
        }
        return endpoint
    }

    func validateEndpoint(url: String, eventTypes: [String], description: String?) async throws {
        do { try await configuration.webhooks.addressPolicy.check(url) } catch {
            throw DomainError.invalidField(field: "url", message: error.reason)
        }
        try EventType.validate(filters: eventTypes)
        if let description, description.count > 500 { throw DomainError.invalidField(field: "description", message: "longer than 500 characters") }
    }

    /// `whsec_` and 32 random bytes, base64url.
    static func makeWebhookSecret() -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        bytes.withUnsafeMutableBytes { SecureRandom.fill($0) }
        return "whsec_" + Base64URL.encode(bytes)
    }

    // MARK: Delivery

    /// `deliver-webhook`: one attempt. The body is the stored event in its envelope; the
    /// signature covers `"<t>.<body>"`. A 2xx ends the delivery; anything else is recorded and
    /// retried (``WebhookSettings/retryDelay(afterAttempt:)`` with ±10 % jitter) until the retry
    /// period ends, then the delivery is failed. Every attempt updates the endpoint's failure
    /// streak; a streak longer than ``WebhookSettings/disableAfter`` disables the endpoint and
    /// tells the tenant (`webhook_endpoint.disabled`).
    func deliverWebhook(_ job: WebhookDeliveryJob, _ context: JobContext) async throws -> SyncJobResult {
        let settings = configuration.webhooks
        guard let delivery = try await store.webhooks.delivery(job.delivery) else { return SyncJobResult(outcome: "skipped", detail: "delivery deleted") }
        guard delivery.state == .pending else { return SyncJobResult(outcome: "skipped", detail: "delivery is \(delivery.state.rawValue)") }
        var metadata: Logger.Metadata = ["delivery_id": "\(delivery.id)", "endpoint_id": "\(delivery.endpointID)", "event_id": "\(delivery.eventID)"]
        guard let endpoint = try await store.webhooks.get(delivery.endpointID) else {
            try await store.webhooks.finish(delivery.id, state: .skipped, outcome: "endpoint_deleted", at: now)
            return SyncJobResult(outcome: "skipped", detail: "endpoint deleted")
        }
        if endpoint.disabledAt != nil {
            try await store.webhooks.finish(delivery.id, state: .skipped, outcome: "endpoint_disabled", at: now)
            return SyncJobResult(outcome: "skipped", detail: "endpoint disabled")
        }
        guard let transport = settings.transport else {
            // Another process (one with a transport) may take it.
            throw JobControl.snooze(.seconds(60))
        }
        guard let event = try await store.events.get(delivery.eventID) else {
            try await store.webhooks.finish(delivery.id, state: .skipped, outcome: "event_deleted", at: now)
            return SyncJobResult(outcome: "skipped", detail: "event deleted")
        }
        let attemptNumber = delivery.attempts + 1
        let started = now
        let clock = ContinuousClock.now
        let response: WebhookResponse
        do {
            try await settings.addressPolicy.check(endpoint.url)
            let body = try await webhookBody(event)
            let secrets = try await store.webhooks.signingSecrets(endpoint.id, now: started).map { Array($0.utf8) }
            let signature = TimestampedSignature.sign(body: body, secrets: secrets, timestamp: Int64(started.timeIntervalSince1970))
            response = await transport.post(
                WebhookRequest(
                    url: endpoint.url,
                    headers: [
                        ("Content-Type", "application/json"), ("User-Agent", "BankSync-Webhooks/1"), ("BankSync-Event-Id", event.id.rawValue),
                        ("BankSync-Event-Type", event.type), ("BankSync-Delivery-Id", delivery.id.rawValue), ("BankSync-Attempt", "\(attemptNumber)"),
                        ("BankSync-Signature", signature),
                    ],
                    body: body, timeout: settings.attemptTimeout, maxResponseBytes: settings.maxResponseBytes))
        } catch let refusal as WebhookAddressPolicy.Refusal {
            response = WebhookResponse(statusCode: nil, outcome: "address_refused", error: refusal.reason)
        }
        let elapsed = ContinuousClock.now - clock
        let milliseconds = Int(elapsed.components.seconds * 1_000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        let attempt = WebhookAttempt(
            deliveryID: delivery.id, attempt: attemptNumber, startedAt: started, durationMilliseconds: milliseconds, statusCode: response.statusCode,
            outcome: response.outcome, error: response.error, responseExcerpt: response.excerpt)
        Counter(label: "banksync_webhook_attempts_total", dimensions: [("outcome", response.outcome)]).increment()
        Timer(label: "banksync_webhook_attempt_duration_seconds").recordMilliseconds(milliseconds)
        metadata["attempt"] = "\(attemptNumber)"
        metadata["outcome"] = "\(response.outcome)"
        if let status = response.statusCode { metadata["status"] = "\(status)" }

        if attempt.succeeded {
            try await store.webhooks.record(attempt, state: .delivered, finishedAt: now)
            try await store.database.withSession { db in
                try await db.raw(
                    """
                    UPDATE webhook_endpoints SET failing_since = NULL, last_success_at = \(bind: now.millisecondsSince1970)
                    WHERE id = \(bind: endpoint.id.rawValue)
                    """
                ).run()
            }
            context.logger.info("webhook delivered", metadata: metadata)
            return SyncJobResult(outcome: "delivered", detail: "HTTP \(response.statusCode ?? 0) on attempt \(attemptNumber)")
        }

        let deadline = delivery.createdAt.addingTimeInterval(settings.retryPeriod)
        let gaveUp = now >= deadline
        try await store.webhooks.record(attempt, state: gaveUp ? .failed : .pending, finishedAt: gaveUp ? now : nil)
        try await recordEndpointFailure(endpoint, metadata: metadata)
        if gaveUp {
            context.logger.warning("webhook delivery failed for the whole retry period", metadata: metadata)
            return SyncJobResult(outcome: "failed", detail: "\(attemptNumber) attempts; last: \(response.outcome)")
        }
        let base = settings.retryDelay(afterAttempt: attemptNumber)
        let jittered = base * Double.random(in: 0.9...1.1)
        let delay = min(jittered, deadline.timeIntervalSince(now))
        context.logger.info("webhook attempt failed; retrying", metadata: metadata.merging(["retry_in_s": "\(Int(delay))"]) { a, _ in a })
        throw JobControl.retry(after: .milliseconds(Int64(delay * 1_000)), reason: "\(response.outcome): \(response.error ?? "")")
    }

    /// Starts (or continues) the endpoint's failure streak; a streak past
    /// ``WebhookSettings/disableAfter`` disables it, skips its waiting deliveries and tells the
    /// tenant, all in one transaction.
    func recordEndpointFailure(_ endpoint: WebhookEndpoint, metadata: Logger.Metadata) async throws {
        let now = self.now
        let limit = now.addingTimeInterval(-configuration.webhooks.disableAfter)
        let disabled = try await store.database.transaction { db -> Bool in
            try await db.raw(
                "UPDATE webhook_endpoints SET failing_since = \(bind: now.millisecondsSince1970) WHERE id = \(bind: endpoint.id.rawValue) AND failing_since IS NULL"
            ).run()
            let reason = "every delivery failed for \(Int(configuration.webhooks.disableAfter / 3_600)) hours"
            guard let row = try await db.raw(
                """
                UPDATE webhook_endpoints SET disabled_at = \(bind: now.millisecondsSince1970), disabled_reason = \(bind: reason),
                    updated_at = \(bind: now.millisecondsSince1970)
                WHERE id = \(bind: endpoint.id.rawValue) AND disabled_at IS NULL AND failing_since <= \(bind: limit.millisecondsSince1970)
                RETURNING failing_since
                """
            ).first() else { return false }
            let since = try row.decode(column: "failing_since", as: Int64.self)
            try await db.raw(
                """
                UPDATE webhook_deliveries SET state = 'skipped', last_outcome = 'endpoint_disabled', finished_at = \(bind: now.millisecondsSince1970)
                WHERE endpoint_id = \(bind: endpoint.id.rawValue) AND state = 'pending'
                """
            ).run()
            try await notify(
                Event(
                    tenantID: endpoint.tenantID, type: EventType.webhookEndpointDisabled,
                    payload: .object([
                        ("version", .int(1)), ("endpoint_id", .string(endpoint.id.rawValue)), ("url", .string(endpoint.url)), ("reason", .string(reason)),
                        ("failing_since", .string(ISO8601DateFormatter().string(from: Date(millisecondsSince1970: since)))),
                    ]),
                    dedupeKey: "\(EventType.webhookEndpointDisabled):\(endpoint.id):\(since)", createdAt: now), on: db)
            return true
        }
        if disabled { logger.error("webhook endpoint disabled after failing for too long; the tenant is told", metadata: metadata) }
    }

    /// `prune-notifications`: deletes, 1,000 at a time, finished deliveries older than the
    /// delivery retention (their attempts first), then events older than the event retention
    /// (with any deliveries still naming them).
    func pruneNotifications() async throws -> SyncJobResult {
        let deliveriesBefore = now.addingTimeInterval(-configuration.webhooks.deliveryRetention).millisecondsSince1970
        let eventsBefore = now.addingTimeInterval(-configuration.eventRetention).millisecondsSince1970
        var deliveries = 0
        var events = 0
        while true {
            let removed = try await store.database.transaction { db -> Int in
                let ids = try await db.raw(
                    "SELECT id FROM webhook_deliveries WHERE state <> 'pending' AND finished_at < \(bind: deliveriesBefore) LIMIT 1000"
                ).all().map { try $0.decode(column: "id", as: String.self) }
                guard !ids.isEmpty else { return 0 }
                try await db.raw("DELETE FROM webhook_attempts WHERE delivery_id IN (\(binds: ids))").run()
                try await db.raw("DELETE FROM webhook_deliveries WHERE id IN (\(binds: ids))").run()
                return ids.count
            }
            deliveries += removed
            if removed < 1_000 { break }
        }
        while true {
            let removed = try await store.database.transaction { db -> Int in
                let ids = try await db.raw("SELECT id FROM events WHERE created_at < \(bind: eventsBefore) LIMIT 1000").all()
                    .map { try $0.decode(column: "id", as: String.self) }
                guard !ids.isEmpty else { return 0 }
                try await db.raw(
                    "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE event_id IN (\(binds: ids)))"
                ).run()
                try await db.raw("DELETE FROM webhook_deliveries WHERE event_id IN (\(binds: ids))").run()
                try await db.raw("DELETE FROM events WHERE id IN (\(binds: ids))").run()
                return ids.count
            }
            events += removed
            if removed < 1_000 { break }
        }
        if deliveries + events > 0 { logger.info("notifications pruned", metadata: ["deliveries": "\(deliveries)", "events": "\(events)"]) }
        return SyncJobResult(outcome: "ok", detail: "\(deliveries) deliveries, \(events) events deleted")
    }

    /// The JSON a receiver gets: the event in an envelope (see docs/WEBHOOKS.md).
    func webhookBody(_ event: Event) async throws -> [UInt8] {
        var user: JSONValue = .null
        if let userID = event.userID, let stored = try await store.users.get(userID) {
            user = .object([("id", .string(stored.id.rawValue)), ("external_id", .string(stored.externalID))])
        }
        let envelope: JSONValue = .object([
            ("id", .string(event.id.rawValue)), ("type", .string(event.type)),
            ("created_at", .string(ISO8601DateFormatter().string(from: event.createdAt))),
            ("tenant_id", .optional(event.tenantID?.rawValue)), ("user", user), ("connection_id", .optional(event.connectionID?.rawValue)),
            ("data", event.payload),
        ])
        return envelope.serialized()
    }
}
