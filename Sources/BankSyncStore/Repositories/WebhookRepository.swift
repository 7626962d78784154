public import BankSyncCore
public import Foundation
public import SQLKit

/// Outbound webhook endpoints (with their signing secrets sealed like access tokens), their
/// deliveries and every attempt; and the notification preferences of tenants and users.
public struct WebhookRepository: Sendable {
    let database: Database
    let cipher: TokenCipher

    public init(database: Database, cipher: TokenCipher) {
        self.database = database
        self.cipher = cipher
    }

    // MARK: Endpoints

    /// Stores a new endpoint with its signing secret sealed (bound to the endpoint's id).
    public func insert(_ endpoint: WebhookEndpoint, secret: String) async throws {
        let sealed = try cipher.seal(secret, context: endpoint.id.rawValue)
        try await database.withSession { db in
            try await db.raw(
                """
                INSERT INTO webhook_endpoints (id, tenant_id, url, description, event_types, secret_ciphertext, created_at, updated_at)
                VALUES (\(bind: endpoint.id.rawValue), \(bind: endpoint.tenantID.rawValue), \(bind: endpoint.url), \(bind: endpoint.description),
                    \(bind: Self.encode(endpoint.eventTypes)), \(bind: sealed), \(bind: endpoint.createdAt.millisecondsSince1970),
                    \(bind: endpoint.updatedAt.millisecondsSince1970))
                """
            ).run()
        }
    }

    /// Saves the fields a tenant may change (url, description, filter) and the delivery
    /// bookkeeping (failing since, last success, disabled).
    public func update(_ endpoint: WebhookEndpoint, on db: (any SQLDatabase)? = nil) async throws {
        let query: SQLQueryString = """
            UPDATE webhook_endpoints SET url = \(bind: endpoint.url), description = \(bind: endpoint.description),
                event_types = \(bind: Self.encode(endpoint.eventTypes)), updated_at = \(bind: endpoint.updatedAt.millisecondsSince1970),
                failing_since = \(bind: endpoint.failingSince.milliseconds), last_success_at = \(bind: endpoint.lastSuccessAt.milliseconds),
                disabled_at = \(bind: endpoint.disabledAt.milliseconds), disabled_reason = \(bind: endpoint.disabledReason)
            WHERE id = \(bind: endpoint.id.rawValue)
            """
        if let db { try await db.raw(query).run() } else { try await database.withSession { try await $0.raw(query).run() } }
    }

    /// Replaces the signing secret. The previous one stays valid (deliveries carry a signature
    /// with each) until `previousValidUntil`, so receivers can switch without losing events.
    public func rotateSecret(_ id: Identifier<WebhookEndpoint>, to secret: String, previousValidUntil: Date, now: Date) async throws {
        let sealed = try cipher.seal(secret, context: id.rawValue)
        try await database.withSession { db in
            try await db.raw(
                """
                UPDATE webhook_endpoints SET previous_secret_ciphertext = secret_ciphertext,
                    previous_secret_expires_at = \(bind: previousValidUntil.millisecondsSince1970),
                    secret_ciphertext = \(bind: sealed), updated_at = \(bind: now.millisecondsSince1970)
                WHERE id = \(bind: id.rawValue)
                """
            ).run()
        }
    }

    /// The secrets deliveries are signed with at `now`: the current one, and the previous one
    /// while its overlap lasts.
    public func signingSecrets(_ id: Identifier<WebhookEndpoint>, now: Date) async throws -> [String] {
        try await database.withSession { db in
            guard let row = try await db.raw("SELECT secret_ciphertext, previous_secret_ciphertext, previous_secret_expires_at FROM webhook_endpoints WHERE id = \(bind: id.rawValue)").first() else {
                throw StoreError(.notFound, "webhook endpoint \(id) does not exist")
            }
            var secrets = [try cipher.open(try row.text("secret_ciphertext"), context: id.rawValue)]
            if let previous = try row.optionalText("previous_secret_ciphertext"), let until = try row.optionalInstant("previous_secret_expires_at"), until > now {
                secrets.append(try cipher.open(previous, context: id.rawValue))
            }
            return secrets
        }
    }

    public func get(_ id: Identifier<WebhookEndpoint>) async throws -> WebhookEndpoint? {
        try await database.withSession { db in
            try await db.raw("SELECT * FROM webhook_endpoints WHERE id = \(bind: id.rawValue)").first().map(Self.decodeEndpoint)
        }
    }

    /// A tenant's endpoints, oldest first; `enabledOnly` leaves out disabled ones.
    public func endpoints(tenantID: Identifier<Tenant>, enabledOnly: Bool = false, on db: (any SQLDatabase)? = nil) async throws -> [WebhookEndpoint] {
        let enabled: SQLQueryString = enabledOnly ? "AND disabled_at IS NULL" : ""
        let query: SQLQueryString = "SELECT * FROM webhook_endpoints WHERE tenant_id = \(bind: tenantID.rawValue) \(enabled) ORDER BY created_at, id"
        if let db { return try await db.raw(query).all().map(Self.decodeEndpoint) }
        return try await database.withSession { try await $0.raw(query).all().map(Self.decodeEndpoint) }
    }

    /// Deletes an endpoint of `tenantID` with its deliveries and attempts.
    /// - Returns: whether it existed.
    @discardableResult
    public func delete(_ id: Identifier<WebhookEndpoint>, tenantID: Identifier<Tenant>) async throws -> Bool {
        try await database.transaction { db in
            guard try await db.raw("SELECT id FROM webhook_endpoints WHERE id = \(bind: id.rawValue) AND tenant_id = \(bind: tenantID.rawValue)").first() != nil
            else { return false }
            try await db.raw(
                "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE endpoint_id = \(bind: id.rawValue))"
            ).run()
            try await db.raw("DELETE FROM webhook_deliveries WHERE endpoint_id = \(bind: id.rawValue)").run()
            try await db.raw("DELETE FROM webhook_endpoints WHERE id = \(bind: id.rawValue)").run()
            return true
        }
    }

    // MARK: Deliveries

    public func insert(_ delivery: WebhookDelivery, on db: any SQLDatabase) async throws {
        try await db.raw(
            """
            INSERT INTO webhook_deliveries (id, endpoint_id, event_id, tenant_id, event_type, state, attempts, replay_of, created_at)
            VALUES (\(bind: delivery.id.rawValue), \(bind: delivery.endpointID.rawValue), \(bind: delivery.eventID.rawValue),
                \(bind: delivery.tenantID.rawValue), \(bind: delivery.eventType), \(bind: delivery.state.rawValue), \(bind: delivery.attempts),
                \(bind: delivery.replayOf?.rawValue), \(bind: delivery.createdAt.millisecondsSince1970))
            """
        ).run()
    }

    public func delivery(_ id: Identifier<WebhookDelivery>) async throws -> WebhookDelivery? {
        try await database.withSession { db in
            try await db.raw("SELECT * FROM webhook_deliveries WHERE id = \(bind: id.rawValue)").first().map(Self.decodeDelivery)
        }
    }

    /// An endpoint's deliveries, newest first; `state` filters.
    public func deliveries(endpointID: Identifier<WebhookEndpoint>, state: WebhookDeliveryState? = nil, limit: Int = 100) async throws -> [WebhookDelivery] {
        try await database.withSession { db in
            let filter: SQLQueryString = state.map { "AND state = \(bind: $0.rawValue)" } ?? ""
            return try await db.raw(
                "SELECT * FROM webhook_deliveries WHERE endpoint_id = \(bind: endpointID.rawValue) \(filter) ORDER BY created_at DESC, id DESC LIMIT \(bind: limit)"
            ).all().map(Self.decodeDelivery)
        }
    }

    /// The deliveries of one event (one per subscribed endpoint, plus replays).
    public func deliveries(eventID: Identifier<Event>) async throws -> [WebhookDelivery] {
        try await database.withSession { db in
            try await db.raw("SELECT * FROM webhook_deliveries WHERE event_id = \(bind: eventID.rawValue) ORDER BY created_at, id").all().map(Self.decodeDelivery)
        }
    }

    /// Records one attempt and the delivery's new state together.
    public func record(_ attempt: WebhookAttempt, state: WebhookDeliveryState, finishedAt: Date?) async throws {
        try await database.transaction { db in
            try await db.raw(
                """
                INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, outcome, error, response_excerpt)
                VALUES (\(bind: attempt.deliveryID.rawValue), \(bind: attempt.attempt), \(bind: attempt.startedAt.millisecondsSince1970),
                    \(bind: attempt.durationMilliseconds), \(bind: attempt.statusCode), \(bind: attempt.outcome), \(bind: attempt.error),
                    \(bind: attempt.responseExcerpt))
                ON CONFLICT (delivery_id, attempt) DO NOTHING
                """
            ).run()
            try await db.raw(
                """
                UPDATE webhook_deliveries SET state = \(bind: state.rawValue), attempts = \(bind: attempt.attempt),
                    last_status = \(bind: attempt.statusCode), last_outcome = \(bind: attempt.outcome), finished_at = \(bind: finishedAt.milliseconds)
                WHERE id = \(bind: attempt.deliveryID.rawValue)
                """
            ).run()
        }
    }

    /// Ends a delivery without an attempt (its endpoint was disabled or deleted).
    public func finish(_ id: Identifier<WebhookDelivery>, state: WebhookDeliveryState, outcome: String, at time: Date) async throws {
        try await database.withSession { db in
            try await db.raw(
                """
                UPDATE webhook_deliveries SET state = \(bind: state.rawValue), last_outcome = \(bind: outcome), finished_at = \(bind: time.millisecondsSince1970)
                WHERE id = \(bind: id.rawValue) AND state = 'pending'
                """
            ).run()
        }
    }

    /// A delivery's attempts, first first.
    public func attempts(deliveryID: Identifier<WebhookDelivery>) async throws -> [WebhookAttempt] {
        try await database.withSession { db in
            try await db.raw("SELECT * FROM webhook_attempts WHERE delivery_id = \(bind: deliveryID.rawValue) ORDER BY attempt").all().map { row in
                WebhookAttempt(
                    deliveryID: try row.identifier("delivery_id"), attempt: try row.int("attempt"), startedAt: try row.instant("started_at"),
                    durationMilliseconds: try row.int("duration_ms"), statusCode: try row.decode(column: "status_code", as: Int?.self),
                    outcome: try row.text("outcome"), error: try row.optionalText("error"), responseExcerpt: try row.optionalText("response_excerpt"))
            }
        }
    }

    // MARK: Preferences

    /// A tenant's notification preferences (nil: none set).
    public func preferences(tenantID: Identifier<Tenant>) async throws -> NotificationPreferences? {
        try await preferences(scope: "tenant:\(tenantID.rawValue)")
    }

    /// A user's own notification preferences (nil: none set).
    public func preferences(userID: Identifier<User>) async throws -> NotificationPreferences? {
        try await preferences(scope: "user:\(userID.rawValue)")
    }

    public func setPreferences(_ preferences: NotificationPreferences, tenantID: Identifier<Tenant>, now: Date) async throws {
        try await setPreferences(preferences, scope: "tenant:\(tenantID.rawValue)", tenantID: tenantID, now: now)
    }

    public func setPreferences(_ preferences: NotificationPreferences, userID: Identifier<User>, tenantID: Identifier<Tenant>, now: Date) async throws {
        try await setPreferences(preferences, scope: "user:\(userID.rawValue)", tenantID: tenantID, now: now)
    }

    /// The settings the rules use for `userID`: defaults ← tenant ← user, in one query.
    public func settings(userID: Identifier<User>, tenantID: Identifier<Tenant>, on db: (any SQLDatabase)? = nil) async throws -> NotificationSettings {
        let query: SQLQueryString = """
            SELECT scope, settings FROM notification_preferences
            WHERE scope IN (\(bind: "tenant:\(tenantID.rawValue)"), \(bind: "user:\(userID.rawValue)"))
            """
        let rows = if let db { try await db.raw(query).all() } else { try await database.withSession { try await $0.raw(query).all() } }
        var tenant: NotificationPreferences?
        var user: NotificationPreferences?
        for row in rows {
            let decoded = try Self.decodePreferences(try row.text("settings"), scope: try row.text("scope"))
            if try row.text("scope").hasPrefix("tenant:") { tenant = decoded } else { user = decoded }
        }
        return NotificationSettings.resolve(tenant: tenant, user: user)
    }

    private func preferences(scope: String) async throws -> NotificationPreferences? {
        try await database.withSession { db in
            try await db.raw("SELECT settings FROM notification_preferences WHERE scope = \(bind: scope)").first().map {
                try Self.decodePreferences(try $0.text("settings"), scope: scope)
            }
        }
    }

    private func setPreferences(_ preferences: NotificationPreferences, scope: String, tenantID: Identifier<Tenant>, now: Date) async throws {
        try preferences.validate()
        let text = String(decoding: try JSONEncoder().encode(preferences), as: UTF8.self)
        try await database.withSession { db in
            try await db.raw(
                """
                INSERT INTO notification_preferences (scope, tenant_id, settings, updated_at)
                VALUES (\(bind: scope), \(bind: tenantID.rawValue), \(bind: text), \(bind: now.millisecondsSince1970))
                ON CONFLICT (scope) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at
                """
            ).run()
        }
    }

    static func decodePreferences(_ text: String, scope: String) throws -> NotificationPreferences {
        do { return try JSONDecoder().decode(NotificationPreferences.self, from: Data(text.utf8)) } catch {
            throw StoreError(.invalidData, "notification preferences of \(scope) are not readable: \(error)")
        }
    }

    static func encode(_ types: [String]) -> String {
        String(decoding: JSONValue.array(types.map { .string($0) }).serialized(), as: UTF8.self)
    }

    static func decodeEndpoint(_ row: any SQLRow) throws -> WebhookEndpoint {
        let id: Identifier<WebhookEndpoint> = try row.identifier("id")
        let typesText = try row.text("event_types")
        guard case .array(let values)? = try? JSONValue.parse(Array(typesText.utf8)) else {
            throw StoreError(.invalidData, "column event_types of webhook endpoint \(id) is not a JSON array")
        }
        return WebhookEndpoint(
            id: id, tenantID: try row.identifier("tenant_id"), url: try row.text("url"), description: try row.optionalText("description"),
            eventTypes: values.compactMap(\.stringValue), createdAt: try row.instant("created_at"), updatedAt: try row.instant("updated_at"),
            failingSince: try row.optionalInstant("failing_since"), lastSuccessAt: try row.optionalInstant("last_success_at"),
            disabledAt: try row.optionalInstant("disabled_at"), disabledReason: try row.optionalText("disabled_reason"))
    }

    static func decodeDelivery(_ row: any SQLRow) throws -> WebhookDelivery {
        WebhookDelivery(
            id: try row.identifier("id"), endpointID: try row.identifier("endpoint_id"), eventID: try row.identifier("event_id"),
            tenantID: try row.identifier("tenant_id"), eventType: try row.text("event_type"),
            state: try row.enumValue("state", as: WebhookDeliveryState.self), attempts: try row.int("attempts"),
            lastStatus: try row.decode(column: "last_status", as: Int?.self), lastOutcome: try row.optionalText("last_outcome"),
            replayOf: try row.optionalText("replay_of").map { Identifier($0) }, createdAt: try row.instant("created_at"),
            finishedAt: try row.optionalInstant("finished_at"))
    }
}
