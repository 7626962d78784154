public import BankSyncCore
import BankSyncJobs
import BankSyncProviders
import BankSyncStore
public import Foundation

/// What an inbound provider webhook caused.
public struct WebhookOutcome: Sendable, Equatable {
    public var connectionID: Identifier<Connection>?
    /// `sync enqueued`, `requires reauth`, `ignored: …`.
    public var action: String
}

extension SyncEngine {
    /// Acts on a provider webhook whose signature the caller has verified: enqueues the work it
    /// announces or records the state it reports. Answers fast (no provider calls here).
    ///
    /// New transactions mean new balances, so update webhooks enqueue `sync-bank` (balances,
    /// then `sync-transactions`); one already waiting absorbs them, and one running is followed
    /// by its own `sync-transactions`, so no update is lost.
    ///
    /// Plaid: `TRANSACTIONS` updates → `sync-bank`; `ITEM` `ERROR` (login required) and
    /// `USER_PERMISSION_REVOKED` → the user is told; `PENDING_EXPIRATION` → the consent end is
    /// stored; `LOGIN_REPAIRED` → healthy again and synced; `NEW_ACCOUNTS_AVAILABLE` →
    /// `account-discovery`. Teller: `transactions.processed` → `sync-bank`;
    /// `enrollment.disconnected` → the user is told. Anything else is ignored and says so.
    /// - Throws: ``StoreError`` `.invalidData` when the body is not the provider's webhook JSON.
    public func handleWebhook(provider: Provider, body: [UInt8]) async throws -> WebhookOutcome {
        let json: JSONValue
        do { json = try JSONValue.parse(body) } catch { throw StoreError(.invalidData, "the \(provider.rawValue) webhook body is not JSON: \(error)") }
        switch provider {
        case .plaid: return try await plaidWebhook(json)
        case .teller: return try await tellerWebhook(json)
        case .gocardless: return WebhookOutcome(connectionID: nil, action: "ignored: GoCardless sends no webhooks")
        }
    }

    private func plaidWebhook(_ json: JSONValue) async throws -> WebhookOutcome {
        guard let itemID = json["item_id"]?.stringValue, let type = json["webhook_type"]?.stringValue, let code = json["webhook_code"]?.stringValue else {
            throw StoreError(.invalidData, "a Plaid webhook needs item_id, webhook_type and webhook_code")
        }
        guard let connection = try await store.connections.find(provider: .plaid, providerConnectionID: itemID) else {
            return WebhookOutcome(connectionID: nil, action: "ignored: unknown item")
        }
        let id = connection.id
        switch (type, code) {
        case ("TRANSACTIONS", "SYNC_UPDATES_AVAILABLE"), ("TRANSACTIONS", "DEFAULT_UPDATE"), ("TRANSACTIONS", "INITIAL_UPDATE"),
            ("TRANSACTIONS", "HISTORICAL_UPDATE"), ("TRANSACTIONS", "TRANSACTIONS_REMOVED"):
            guard connection.status.isSyncable || connection.status == .syncing else {
                return WebhookOutcome(connectionID: id, action: "ignored: connection is \(connection.status.rawValue)")
            }
            try await queue.enqueue(SyncJobs.syncBank, ConnectionJob(connectionID: id, reason: "webhook:\(code)"))
            return WebhookOutcome(connectionID: id, action: "sync enqueued")
        case ("ITEM", "ERROR"):
            let errorCode = json["error"]?["error_code"]?.stringValue ?? "ITEM_ERROR"
            if errorCode == "ITEM_LOGIN_REQUIRED" || errorCode == "PENDING_EXPIRATION" {
                try await needsUser(id, status: .requiresReauth, code: errorCode)
                return WebhookOutcome(connectionID: id, action: "requires reauth")
            }
            try await queue.enqueue(SyncJobs.connectionHealth, ConnectionJob(connectionID: id, reason: "webhook:\(errorCode)"))
            return WebhookOutcome(connectionID: id, action: "health check enqueued")
        case ("ITEM", "USER_PERMISSION_REVOKED"), ("ITEM", "USER_ACCOUNT_REVOKED"):
            try await needsUser(id, status: .revoked, code: code)
            return WebhookOutcome(connectionID: id, action: "revoked")
        case ("ITEM", "PENDING_EXPIRATION"), ("ITEM", "PENDING_DISCONNECT"):
            var updated = connection
            if let text = json["consent_expiration_time"]?.stringValue, let end = ISO8601DateFormatter().date(from: text) {
                updated.consentExpiresAt = end
            } else if updated.consentExpiresAt == nil {
                updated.consentExpiresAt = now.addingTimeInterval(7 * 86_400)  // Plaid: "in 7 days" when no time is given
            }
            updated.updatedAt = now
            try await store.connections.update(updated)
            try await queue.enqueue(SyncJobs.checkConnectionExpiration, EmptyResult())
            return WebhookOutcome(connectionID: id, action: "consent end recorded")
        case ("ITEM", "LOGIN_REPAIRED"):
            var updated = connection
            if updated.status != .connected && updated.status != .syncing { try updated.setStatus(.connected) }
            updated.errorCode = nil
            updated.nextSyncAt = now
            updated.updatedAt = now
            try await store.database.transaction { [updated] db in
                try await store.connections.update(updated, on: db)
                try await queue.enqueue(SyncJobs.syncBank, ConnectionJob(connectionID: id, reason: "webhook:LOGIN_REPAIRED"), in: db)
            }
            return WebhookOutcome(connectionID: id, action: "sync enqueued")
        case ("ITEM", "NEW_ACCOUNTS_AVAILABLE"):
            try await queue.enqueue(SyncJobs.accountDiscovery, ConnectionJob(connectionID: id, reason: "webhook:\(code)"))
            return WebhookOutcome(connectionID: id, action: "account discovery enqueued")
        default:
            return WebhookOutcome(connectionID: id, action: "ignored: \(type) \(code)")
        }
    }

    private func tellerWebhook(_ json: JSONValue) async throws -> WebhookOutcome {
        guard let type = json["type"]?.stringValue else { throw StoreError(.invalidData, "a Teller webhook needs a type") }
        guard let enrollment = json["payload"]?["enrollment_id"]?.stringValue else {
            return WebhookOutcome(connectionID: nil, action: "ignored: \(type) without an enrollment")
        }
        guard let connection = try await store.connections.find(provider: .teller, providerConnectionID: enrollment) else {
            return WebhookOutcome(connectionID: nil, action: "ignored: unknown enrollment")
        }
        switch type {
        case "transactions.processed":
            guard connection.status.isSyncable || connection.status == .syncing else {
                return WebhookOutcome(connectionID: connection.id, action: "ignored: connection is \(connection.status.rawValue)")
            }
            try await queue.enqueue(SyncJobs.syncBank, ConnectionJob(connectionID: connection.id, reason: "webhook:\(type)"))
            return WebhookOutcome(connectionID: connection.id, action: "sync enqueued")
        case "enrollment.disconnected":
            let reason = json["payload"]?["reason"]?.stringValue ?? "disconnected"
            try await needsUser(connection.id, status: .requiresReauth, code: "enrollment.\(reason)")
            return WebhookOutcome(connectionID: connection.id, action: "requires reauth")
        default:
            return WebhookOutcome(connectionID: connection.id, action: "ignored: \(type)")
        }
    }
}
