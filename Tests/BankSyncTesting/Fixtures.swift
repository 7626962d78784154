public import BankSyncCore
public import BankSyncStore
public import Foundation

/// A tenant, a user, a connection and one account, stored: the world most storage tests need.
public struct Fixture: Sendable {
    public let tenant: Tenant
    public let user: User
    public let connection: Connection
    public let account: Account

    /// Creates and stores the fixture; the connection's access token is `accessToken`.
    public static func make(
        in store: Store, accessToken: String = "access-sandbox-\(UUID().uuidString)", currency: String = "USD",
        now: Date = Date(timeIntervalSince1970: 1_780_000_000)
    ) async throws -> Fixture {
        let tenant = try await store.tenants.create(name: "Acme Finance", now: now)
        let user = User(tenantID: tenant.id, externalID: "user-\(UUID().uuidString.prefix(8))", createdAt: now)
        try await store.users.insert(user)
        let connection = Connection(
            userID: user.id, provider: .plaid, providerConnectionID: "item-\(UUID().uuidString)",
            institutionName: "First Platypus Bank", createdAt: now)
        try await store.connections.insert(connection, accessToken: accessToken)
        let account = Account(
            connectionID: connection.id, userID: user.id, providerAccountID: "acc-1", name: "Checking", mask: "0000",
            type: .depository, subtype: "checking", currency: try Currency(code: currency), createdAt: now)
        try await store.accounts.upsert([account])
        return Fixture(tenant: tenant, user: user, connection: connection, account: account)
    }

    /// A posted transaction on the fixture's account.
    public func transaction(
        _ providerID: String, amount: String = "-12.30", date: String = "2026-05-01", description: String = "COFFEE SHOP",
        status: TransactionStatus = .posted, now: Date = Date(timeIntervalSince1970: 1_780_000_000)
    ) throws -> Transaction {
        Transaction(
            accountID: account.id, userID: user.id, providerTransactionID: providerID, status: status,
            amount: try Money(parsing: amount, currency: account.currency), date: try CalendarDate(parsing: date),
            description: description, createdAt: now)
    }
}
