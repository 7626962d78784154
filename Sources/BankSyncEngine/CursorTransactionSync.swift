public import BankSyncCore
public import BankSyncProviders
public import BankSyncStore
public import Foundation
public import Logging
public import SQLKit

/// `sync-transactions` for a cursor provider (Plaid): fetch every change since the stored
/// cursor (the client walks the pages and restarts on mutation during pagination), then write
/// the rows, the removals, the pending→posted hand-over of user edits, and the new cursor in
/// one database transaction. A failure before the commit leaves the stored data and cursor as
/// they were, so the next run fetches the same changes again; nothing is half-applied.
public struct CursorTransactionSync: Sendable {
    let store: Store
    let provider: any BankingProvider
    let logger: Logger
    /// Runs at the end of the database transaction that stores the run's changes, with what
    /// changed (the engine enqueues categorization and records events there, so they commit
    /// with the rows).
    public var inTransaction: (@Sendable (any SQLDatabase, Connection, SyncChanges) async throws -> Void)?

    public init(store: Store, provider: any BankingProvider, logger: Logger) {
        self.store = store
        self.provider = provider
        self.logger = logger
    }

    /// Runs one sync of `connectionID` and records it as a ``SyncRun``.
    /// - Throws: the ``ProviderError`` or storage error that stopped it (the SyncRun says so too).
    @discardableResult
    public func run(connectionID: Identifier<Connection>, now: Date = Date()) async throws -> SyncRun {
        try await store.recordingSyncRun(connectionID, now: now, logger: logger) { connection, credential, logger in
            let delta = try await provider.transactionChanges(credential, since: connection.cursor)
            var accounts = try await accountsByProviderID(connection.id)
            let mentioned = Set((delta.added + delta.modified).map(\.providerAccountID) + delta.removed.map(\.accountID))
            if !mentioned.isSubset(of: Set(accounts.keys)) {
                // Accounts appear (or were never discovered): discover before writing their rows.
                try await discoverAccounts(connection, credential: credential, now: now)
                accounts = try await accountsByProviderID(connection.id)
            }
            var counts = SyncCounts(details: ["pages": "\(delta.pages)", "restarts": "\(delta.restarts)"])
            counts.skip(delta.rejected, logger: logger)
            var rows: [Transaction] = []
            var addedCount = 0
            for (list, isAdded) in [(delta.added, true), (delta.modified, false)] {
                for incoming in list {
                    guard let account = accounts[incoming.providerAccountID] else {
                        counts.skip(
                            [RejectedRow(
                                providerTransactionID: incoming.providerTransactionID, providerAccountID: incoming.providerAccountID,
                                reason: "account \(incoming.providerAccountID) is not one the provider lists for this connection")],
                            logger: logger)
                        continue
                    }
                    rows.append(Self.transaction(incoming, account: account, now: now))
                    if isAdded { counts.added += 1 } else { counts.modified += 1 }
                    if isAdded { addedCount = rows.count }
                }
            }
            let removals = delta.removed.compactMap { removed in
                accounts[removed.accountID].map { TransactionKey(accountID: $0.id, providerTransactionID: removed.transactionID) }
            }
            let settlements = rows.compactMap { row in
                row.pendingTransactionID.map {
                    (TransactionKey(accountID: row.accountID, providerTransactionID: $0), TransactionKey(accountID: row.accountID, providerTransactionID: row.providerTransactionID))
                }
            }
            var saved = connection
            saved.cursor = delta.nextCursor
            saved.lastSyncedAt = now
            saved.updatedAt = now
            counts.reconciled = settlements.count
            // Encoded before the transaction opens (on SQLite it holds the only writer).
            let addedIDs = Set(rows[..<addedCount].map(\.id))
            let encoded = TransactionRepository.encode(rows, for: store.database.engine) { addedIDs.contains($0.id) }
            counts.removed = try await store.database.transaction { [saved, addedCount] db in
                try await store.transactions.write(encoded, on: db)
                try await store.transactions.carryUserCategories(settlements.map { (pending: $0.0, posted: $0.1) }, on: db)
                try await store.transactionLinks.record(
                    settlements.map {
                        TransactionLink(
                            accountID: $0.1.accountID, postedProviderID: $0.1.providerTransactionID, pendingProviderID: $0.0.providerTransactionID,
                            method: "provider", confidence: 1, createdAt: now)
                    }, on: db)
                let removed = try await store.transactions.markRemoved(removals, at: now, on: db)
                // Coverage: the days this feed has delivered rows for, up to today.
                let today = CalendarDate(now)
                for (accountID, earliest) in Dictionary(rows.map { ($0.accountID, $0.date) }, uniquingKeysWith: min) {
                    try await store.accounts.extendCoverage(accountID, from: earliest, to: today, on: db)
                }
                try await store.connections.update(saved, on: db)
                let changes = SyncChanges(
                    added: Array(rows[..<addedCount]), modified: rows.count - addedCount, removed: removed, initial: connection.cursor == nil)
                try await inTransaction?(db, saved, changes)
                return removed
            }
            return counts
        }
    }

    private func accountsByProviderID(_ id: Identifier<Connection>) async throws -> [String: Account] {
        Dictionary(try await store.accounts.list(connectionID: id).map { ($0.providerAccountID, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// `account-discovery`: store the accounts the provider lists (new ones added, known ones updated).
    public func discoverAccounts(_ connection: Connection, credential: ConnectionCredential, now: Date) async throws {
        let listed = try await provider.accounts(credential)
        let known = try await accountsByProviderID(connection.id)
        try await store.accounts.upsert(listed.map { account in
            Account(
                id: known[account.providerAccountID]?.id ?? .generate(), connectionID: connection.id, userID: connection.userID,
                providerAccountID: account.providerAccountID, name: account.name, officialName: account.officialName, mask: account.mask,
                type: account.type, subtype: account.subtype, currency: account.currency, createdAt: known[account.providerAccountID]?.createdAt ?? now,
                updatedAt: now)
        })
    }

    /// A provider row as a stored transaction: the merchant name cleaned from the raw text when
    /// the provider gives none.
    static func transaction(_ incoming: ProviderTransaction, account: Account, now: Date) -> Transaction {
        Transaction(
            accountID: account.id, userID: account.userID, providerTransactionID: incoming.providerTransactionID ?? "",
            status: incoming.isPending ? .pending : .posted, amount: incoming.amount, date: incoming.date, authorizedDate: incoming.authorizedDate,
            description: incoming.description, merchantName: incoming.merchantName ?? MerchantName.clean(incoming.description),
            counterparty: incoming.counterparty, providerCategory: incoming.providerCategory, pendingTransactionID: incoming.pendingTransactionID,
            createdAt: now)
    }
}
