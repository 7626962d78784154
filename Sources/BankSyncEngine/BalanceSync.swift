public import BankSyncCore
public import BankSyncProviders
public import BankSyncStore
public import Foundation
public import Logging
public import SQLKit

/// `update-balances`: read each account's balance from the provider and record it (the
/// latest balance and that day's history point), in BankSync's sign (owed = negative), all
/// of a connection's accounts in one database transaction. The provider call is given as
/// `fetch`, so one job serves all three providers.
public struct BalanceSync: Sendable {
    /// Balances of the connection's accounts (all of them in one call for Plaid; one call per
    /// account for Teller and GoCardless).
    public typealias Fetch = @Sendable (ConnectionCredential, [Account]) async throws -> [ProviderBalance]

    let store: Store
    let logger: Logger
    let fetch: Fetch
    /// Runs in the transaction that records the balances, for each one that replaced an earlier reading, with
    /// the account, the earlier reading and the new one (the engine checks for a significant
    /// change there, so the event commits with the balance).
    public var inTransaction: (@Sendable (any SQLDatabase, Account, Balance, Balance) async throws -> Void)?

    public init(store: Store, logger: Logger, fetch: @escaping Fetch) {
        self.store = store
        self.logger = logger
        self.fetch = fetch
    }

    /// Records the balances; returns how many accounts got one. Balances for accounts the store
    /// does not know are skipped with a warning (account discovery adds them first).
    @discardableResult
    public func run(connectionID: Identifier<Connection>, now: Date = Date()) async throws -> Int {
        guard let connection = try await store.connections.get(connectionID) else {
            throw StoreError(.notFound, "connection \(connectionID) does not exist")
        }
        let accounts = try await store.accounts.list(connectionID: connectionID)
        let credential = ConnectionCredential(secret: try await store.connections.accessToken(for: connectionID), externalID: connection.providerConnectionID)
        let byProviderID = Dictionary(accounts.map { ($0.providerAccountID, $0) }, uniquingKeysWith: { a, _ in a })
        var readings: [(Account, Balance)] = []
        for balance in try await fetch(credential, accounts) {
            guard let account = byProviderID[balance.providerAccountID] else {
                logger.warning("balance for an unknown account skipped", metadata: ["connection_id": "\(connectionID)", "provider_account": "\(balance.providerAccountID)"])
                continue
            }
            guard balance.current.currency == account.currency else {
                logger.warning("balance in another currency than its account skipped", metadata: ["connection_id": "\(connectionID)", "account_id": "\(account.id)"])
                continue
            }
            readings.append((account, Balance(accountID: account.id, current: balance.current, available: balance.available, limit: balance.limit, asOf: now)))
        }
        guard !readings.isEmpty else { return 0 }
        // All of the connection's readings in one transaction: one commit (and, embedded, one
        // turn at the only writer) per connection rather than per account.
        try await store.database.transaction { [inTransaction, readings] db in
            for (account, reading) in readings {
                if let previous = try await store.accounts.recordBalance(reading, on: db) { try await inTransaction?(db, account, previous, reading) }
            }
        }
        return readings.count
    }
}
