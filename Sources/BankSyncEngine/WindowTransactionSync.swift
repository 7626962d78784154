public import BankSyncCore
public import BankSyncProviders
public import BankSyncStore
public import Foundation
public import Logging
public import SQLKit

/// `sync-transactions` for date-window providers (Teller, GoCardless): fetch each account's
/// rows over a window that overlaps the last sync, compare with what is stored for that window
/// (``WindowPlan``), and apply inserts, updates, removals and pending→posted settlements in one
/// database transaction. Rows without a provider id (GoCardless pending rows) are keyed by
/// ``Fingerprint`` so re-fetching the same window changes nothing.
public struct WindowTransactionSync: Sendable {
    /// Fetches one account's rows dated `from…to`.
    public typealias Fetch = @Sendable (ConnectionCredential, Account, CalendarDate, CalendarDate) async throws -> TransactionWindow

    let store: Store
    let fetch: Fetch
    let logger: Logger
    /// Days re-fetched before the last sync (late postings, edits).
    public var overlapDays = 10
    /// Days fetched the first time.
    public var initialDays = 90
    /// Runs at the end of the database transaction that stores the run's changes, with what
    /// changed (the engine enqueues categorization and records events there, so they commit
    /// with the rows).
    public var inTransaction: (@Sendable (any SQLDatabase, Connection, SyncChanges) async throws -> Void)?

    public init(store: Store, logger: Logger, fetch: @escaping Fetch) {
        self.store = store
        self.logger = logger
        self.fetch = fetch
    }

    /// Syncs every account of `connectionID` up to `today` (the provider's calendar day).
    /// - Parameter days: re-fetch at least this many days back (a manual sync's 30), even when
    ///   the last sync was more recent.
    @discardableResult
    public func run(connectionID: Identifier<Connection>, today: CalendarDate, days: Int? = nil, now: Date = Date()) async throws -> SyncRun {
        try await store.recordingSyncRun(connectionID, now: now, logger: logger) { connection, credential, logger in
            // The window: from the last synced day minus the overlap, or the initial history;
            // widened to `days` when asked.
            let lastDay = connection.cursor.flatMap { try? CalendarDate(parsing: $0) }
            var from = lastDay.map { $0.adding(days: -overlapDays) } ?? today.adding(days: -initialDays)
            if let days { from = min(from, today.adding(days: -days)) }
            var saved = connection
            saved.cursor = today.description  // the day synced through
            saved.lastSyncedAt = now
            saved.updatedAt = now
            // Each account's window is compared with its stored rows and turned into rows to write
            // as soon as it is fetched, before the transaction opens: on SQLite the transaction
            // holds the only writer, and this is most of the sync's own CPU. Inside, the stored
            // rows are read again and the work is redone only if they changed meanwhile.
            var prepared: [PreparedWindow] = []
            for account in try await store.accounts.list(connectionID: connectionID) {
                let window = try await fetch(credential, account, from, today)
                let stored = try await store.database.withReadSession { db in
                    try await store.transactions.live(accountID: account.id, from: from, to: today, on: db)
                }
                prepared.append(PreparedWindow(window, account: account, stored: stored, now: now, engine: store.database.engine))
            }
            return try await store.database.transaction { [saved, prepared] db in
                var counts = SyncCounts(details: ["from": "\(from)", "to": "\(today)"])
                var added: [Transaction] = []
                for var account in prepared {
                    let stored = try await store.transactions.live(accountID: account.account.id, from: from, to: today, on: db)
                    if stored != account.stored { account = PreparedWindow(account.window, account: account.account, stored: stored, now: now, engine: store.database.engine) }
                    counts.skip(account.window.rejected, logger: logger)
                    try await apply(account, from: from, to: today, now: now, on: db)
                    let plan = account.plan
                    added += account.inserted
                    counts.added += plan.inserts.count
                    counts.modified += plan.updates.count
                    counts.removed += plan.removals.count
                    counts.reconciled += plan.settlements.count
                    if !account.window.rejected.isEmpty {
                        counts.note("\(account.account.id): removals held back until its rows can all be read")
                    }
                }
                try await store.connections.update(saved, on: db)
                try await inTransaction?(
                    db, saved, SyncChanges(added: added, modified: counts.modified, removed: counts.removed, initial: connection.cursor == nil))
                return counts
            }
        }
    }

    /// Stores one account's prepared window: its rows, settlements, coverage and removals.
    private func apply(_ prepared: PreparedWindow, from: CalendarDate, to: CalendarDate, now: Date, on db: any SQLDatabase) async throws {
        let account = prepared.account
        let plan = prepared.plan
        try await store.transactions.write(prepared.encoded, on: db)
        try await store.transactions.carryUserCategories(
            plan.settlements.map { settlement in
                (
                    pending: TransactionKey(accountID: account.id, providerTransactionID: settlement.pendingKey),
                    posted: TransactionKey(accountID: account.id, providerTransactionID: settlement.postedKey)
                )
            }, on: db)
        try await store.transactionLinks.record(prepared.links, on: db)
        try await store.accounts.extendCoverage(account.id, from: from, to: to, on: db)
        try await store.transactions.markRemoved(plan.removals.map { TransactionKey(accountID: account.id, providerTransactionID: $0) }, at: now, on: db)
    }
}

/// One account's fetched window compared with the rows stored for it (``WindowPlan``) and
/// turned into the rows and links to write. Pure: it is built before the database transaction
/// opens, from a read of the stored rows, and rebuilt inside only if those rows changed.
struct PreparedWindow: Sendable {
    let account: Account
    let window: TransactionWindow
    /// The stored rows this was computed from.
    let stored: [Transaction]
    let plan: WindowPlan
    /// The inserts and updates, encoded for the write (on PostgreSQL the inserts for `COPY`).
    let encoded: TransactionRepository.EncodedTransactions
    /// The inserted rows.
    let inserted: [Transaction]
    let links: [TransactionLink]

    init(_ window: TransactionWindow, account: Account, stored: [Transaction], now: Date, engine: DatabaseEngine) {
        // Keys: the provider's id, else a fingerprint in the provider's order.
        let unkeyed = window.transactions.filter { $0.providerTransactionID == nil }
        var fingerprints = Fingerprint.keys(unkeyed.map { (date: $0.date, amountMinor: $0.amount.minorUnits, description: $0.description) }).makeIterator()
        var incoming: [String: ProviderTransaction] = [:]
        var fetchedRows: [ReconcileRow] = []
        for row in window.transactions {
            let key = row.providerTransactionID ?? fingerprints.next()!
            incoming[key] = row
            fetchedRows.append(ReconcileRow(
                key: key, amountMinor: row.amount.minorUnits, date: row.date, isPending: row.isPending, description: row.description,
                pendingKey: row.pendingTransactionID))
        }
        // Stored links are ours (from earlier settlements), not the provider's: leave them out of
        // the comparison, and keep them when a row is rewritten.
        let storedRows = stored.map {
            ReconcileRow(key: $0.providerTransactionID, amountMinor: $0.amount.minorUnits, date: $0.date, isPending: $0.status == .pending, description: $0.description)
        }
        let storedLinks = Dictionary(stored.compactMap { row in row.pendingTransactionID.map { (row.providerTransactionID, $0) } }, uniquingKeysWith: { a, _ in a })
        var plan = WindowPlan.plan(stored: storedRows, fetched: fetchedRows)
        // A row the provider sent but that could not be read is not a row that is gone: while
        // any are unreadable, nothing of this account is removed but the pending rows that
        // settled (the next clean fetch removes the rest).
        if !window.rejected.isEmpty {
            let settled = Set(plan.settlements.map(\.pendingKey))
            plan.removals = plan.removals.filter { settled.contains($0) }
        }
        let settledBy = Dictionary(plan.settlements.map { ($0.postedKey, $0.pendingKey) }, uniquingKeysWith: { a, _ in a })
        let insertedKeys = Set(plan.inserts.map(\.key))
        let writes = (plan.inserts + plan.updates).compactMap { row -> Transaction? in
            guard let source = incoming[row.key] else { return nil }
            return Transaction(
                accountID: account.id, userID: account.userID, providerTransactionID: row.key, status: source.isPending ? .pending : .posted,
                amount: source.amount, date: source.date, authorizedDate: source.authorizedDate, description: source.description,
                merchantName: source.merchantName ?? MerchantName.clean(source.description), counterparty: source.counterparty,
                providerCategory: source.providerCategory,
                pendingTransactionID: source.pendingTransactionID ?? settledBy[row.key] ?? storedLinks[row.key], createdAt: now)
        }
        self.account = account
        self.window = window
        self.stored = stored
        self.plan = plan
        self.encoded = TransactionRepository.encode(writes, for: engine) { insertedKeys.contains($0.providerTransactionID) }
        self.inserted = writes.filter { insertedKeys.contains($0.providerTransactionID) }
        self.links = plan.settlements.map { settlement in
            let stated = incoming[settlement.postedKey]?.pendingTransactionID == settlement.pendingKey
            return TransactionLink(
                accountID: account.id, postedProviderID: settlement.postedKey, pendingProviderID: settlement.pendingKey,
                method: stated ? "provider" : "matcher", confidence: settlement.confidence, createdAt: now)
        }
    }
}
