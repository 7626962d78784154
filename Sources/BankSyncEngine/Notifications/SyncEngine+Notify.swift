public import BankSyncCore
import BankSyncJobs
public import BankSyncStore
public import Foundation
import Logging
import Metrics
public import SQLKit

extension SyncEngine {
    /// Records `event` and fans it out to the tenant's webhook endpoints, all on `db` so it
    /// commits or rolls back with the change that caused it.
    ///
    /// Not recorded when the user (or their tenant) opted out of its type, or when an event
    /// with its dedupe key exists. Recorded events get one ``WebhookDelivery`` per enabled
    /// endpoint that subscribes to the type, each with a `deliver-webhook` job.
    /// - Parameters:
    ///   - tenantID: the user's tenant when the caller knows it, and
    ///   - settings: the user's resolved settings when the caller has them (each saves a query).
    /// - Returns: whether it was recorded.
    @discardableResult
    public func notify(_ event: Event, tenantID: Identifier<Tenant>? = nil, settings: NotificationSettings? = nil, on db: any SQLDatabase) async throws -> Bool {
        var event = event
        if event.tenantID == nil { event.tenantID = tenantID }
        if event.tenantID == nil, let userID = event.userID {
            guard let tenant = try await store.users.tenantID(of: userID, on: db) else {
                logger.info("event for a deleted user dropped", metadata: ["event_type": "\(event.type)", "user_id": "\(userID)"])
                return false
            }
            event.tenantID = tenant
        }
        guard let tenantID = event.tenantID else { return false }
        if let userID = event.userID {
            let resolved: NotificationSettings
            if let settings { resolved = settings } else { resolved = try await store.webhooks.settings(userID: userID, tenantID: tenantID, on: db) }
            if resolved.muted.contains(event.type) { return false }
        }
        guard try await store.events.emit(event, on: db) else { return false }
        Counter(label: "banksync_events_total", dimensions: [("type", event.type)]).increment()
        for endpoint in try await store.webhooks.endpoints(tenantID: tenantID, enabledOnly: true, on: db) where endpoint.subscribes(to: event.type) {
            let delivery = WebhookDelivery(endpointID: endpoint.id, eventID: event.id, tenantID: tenantID, eventType: event.type, createdAt: now)
            try await store.webhooks.insert(delivery, on: db)
            try await queue.enqueue(NotificationJobs.deliverWebhook, WebhookDeliveryJob(deliveryID: delivery.id), in: db)
        }
        return true
    }

    /// ``notify(_:settings:on:)`` in a transaction of its own.
    @discardableResult
    public func notify(_ event: Event) async throws -> Bool {
        try await store.database.transaction { db in try await notify(event, on: db) }
    }

    // MARK: Rules after a sync

    /// The transaction syncs' hook, in the database transaction that stored the changes:
    /// categorization for new or changed rows, `transaction.large` for new rows that are
    /// unusually large (never during the initial backfill), `transactions.updated` with the
    /// counts, and `sync.completed` (the first sync always; later ones when the user's
    /// settings ask for it).
    @Sendable func afterTransactionsStored(_ db: any SQLDatabase, _ connection: Connection, _ changes: SyncChanges) async throws {
        if changes.added.count + changes.modified > 0 { try await enqueueCategorization(db, connection) }
        guard let tenantID = try await store.users.tenantID(of: connection.userID, on: db) else { return }
        let settings = try await store.webhooks.settings(userID: connection.userID, tenantID: tenantID, on: db)
        if !changes.initial && !settings.muted.contains(EventType.transactionLarge) {
            try await checkLargeTransactions(changes.added, connection: connection, tenantID: tenantID, settings: settings, on: db)
        }
        if changes.added.count + changes.modified + changes.removed > 0 {
            try await notify(
                Event(
                    userID: connection.userID, connectionID: connection.id, type: EventType.transactionsUpdated,
                    payload: .object([
                        ("version", .int(1)), ("connection_id", .string(connection.id.rawValue)), ("added", .int(changes.added.count)),
                        ("modified", .int(changes.modified)), ("removed", .int(changes.removed)),
                    ]),
                    // One per run by construction: it commits with the run's cursor, so a retry cannot repeat it.
                    dedupeKey: nil, createdAt: now), tenantID: tenantID, settings: settings, on: db)
        }
        if changes.initial || settings.syncCompleted == .always {
            try await notify(
                Event(
                    userID: connection.userID, connectionID: connection.id, type: EventType.syncCompleted,
                    payload: .object([
                        ("version", .int(1)), ("connection_id", .string(connection.id.rawValue)), ("initial", .bool(changes.initial)),
                        ("added", .int(changes.added.count)), ("modified", .int(changes.modified)), ("removed", .int(changes.removed)),
                    ]),
                    dedupeKey: changes.initial ? "\(EventType.syncCompleted):\(connection.id):initial" : nil, createdAt: now),
                tenantID: tenantID, settings: settings, on: db)
        }
    }

    /// `transaction.large` for each new row over the absolute amount or well above the
    /// account's own recent outflows. Rows dated long before today are late history, not news.
    /// A pending row and the posted row that settles it share a dedupe key, so one purchase is
    /// one event.
    func checkLargeTransactions(
        _ added: [Transaction], connection: Connection, tenantID: Identifier<Tenant>, settings: NotificationSettings, on db: any SQLDatabase
    ) async throws {
        let recent = today.adding(days: -settings.largeTransactionRecentDays)
        let candidates = added.filter { $0.date >= recent }
        guard !candidates.isEmpty else { return }
        let since = today.adding(days: -settings.largeTransactionHistoryDays)
        for (accountID, rows) in Dictionary(grouping: candidates, by: \.accountID) {
            let fresh = Set(added.filter { $0.accountID == accountID }.map(\.providerTransactionID))
            let history = try await db.raw(
                """
                SELECT provider_transaction_id, amount_minor FROM transactions
                WHERE account_id = \(bind: accountID.rawValue) AND amount_minor < 0 AND removed_at IS NULL AND date >= \(bind: since.description)
                """
            ).all().compactMap { row -> Int64? in
                fresh.contains(try row.decode(column: "provider_transaction_id", as: String.self)) ? nil : -(try row.decode(column: "amount_minor", as: Int64.self))
            }
            for row in rows {
                guard let finding = LargeTransactionRule.evaluate(amount: row.amount, recentOutflows: history, settings: settings) else { continue }
                var payload: [(String, JSONValue)] = [
                    ("version", .int(1)), ("connection_id", .string(connection.id.rawValue)), ("account_id", .string(accountID.rawValue)),
                    ("transaction_id", .string(row.id.rawValue)), ("amount", .string(row.amount.decimalString)), ("currency", .string(row.amount.currency.code)),
                    ("date", .string(row.date.description)), ("description", .string(row.merchantName ?? row.description)),
                    ("pending", .bool(row.status == .pending)), ("reason", .string(finding.reason)),
                    ("threshold", .string(Money(minorUnits: finding.thresholdMinor, currency: row.amount.currency).decimalString)),
                ]
                if let usual = finding.percentileMinor {
                    payload.append(("usual_outflow", .string(Money(minorUnits: usual, currency: row.amount.currency).decimalString)))
                }
                try await notify(
                    Event(
                        userID: connection.userID, connectionID: connection.id, type: EventType.transactionLarge, payload: .object(payload),
                        dedupeKey: "\(EventType.transactionLarge):\(accountID):\(row.pendingTransactionID ?? row.providerTransactionID)", createdAt: now),
                    tenantID: tenantID, settings: settings, on: db)
            }
        }
    }

    /// `BalanceSync`'s hook, in the transaction that records a new balance: the guide's
    /// significant-change rule against the previous reading.
    @Sendable func afterBalanceRecorded(_ db: any SQLDatabase, _ account: Account, _ previous: Balance, _ current: Balance) async throws {
        guard previous.current != current.current else { return }
        guard let tenantID = try await store.users.tenantID(of: account.userID, on: db) else { return }
        let settings = try await store.webhooks.settings(userID: account.userID, tenantID: tenantID, on: db)
        guard let change = BalanceChangeRule.evaluate(previous: previous.current, current: current.current, settings: settings) else { return }
        var payload: [(String, JSONValue)] = [
            ("version", .int(1)), ("connection_id", .string(account.connectionID.rawValue)), ("account_id", .string(account.id.rawValue)),
            ("account_name", .string(account.name)), ("currency", .string(current.current.currency.code)),
            ("previous_balance", .string(previous.current.decimalString)), ("current_balance", .string(current.current.decimalString)),
            ("change", .string(change.change.decimalString)), ("reason", .string(change.reason)), ("sign_flipped", .bool(change.signFlipped)),
        ]
        payload.append(("change_percent", change.percent.map { .number(String(format: "%.2f", $0)) } ?? .null))
        try await notify(
            Event(
                userID: account.userID, connectionID: account.connectionID, type: EventType.balanceChangedSignificantly, payload: .object(payload),
                dedupeKey: "\(EventType.balanceChangedSignificantly):\(account.id):\(previous.asOf.millisecondsSince1970)", createdAt: now),
            tenantID: tenantID, settings: settings, on: db)
    }
}

/// What one transaction sync stored, for the hook that runs in its database transaction.
public struct SyncChanges: Sendable {
    /// Rows new to the store (pending or posted; a posted row that settles a pending one too).
    public var added: [Transaction] = []
    public var modified = 0
    public var removed = 0
    /// The connection's first sync (no cursor before it): its rows are the backfill.
    public var initial = false

    public init(added: [Transaction] = [], modified: Int = 0, removed: Int = 0, initial: Bool = false) {
        self.added = added
        self.modified = modified
        self.removed = removed
        self.initial = initial
    }
}
