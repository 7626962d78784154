import AsyncHTTPClient
import BankSyncCore
import BankSyncEngine
import BankSyncProviders
import BankSyncSandbox
import BankSyncStore
import BankSyncTesting
import Foundation
import Logging
import SQLKit
import Testing

@Suite("Plaid transaction sync, end to end against the sandbox")
struct CursorSyncTests {
    /// Stored live rows per provider account id: provider transaction id → (minor units, status).
    static func stored(_ store: Store, user: Identifier<User>) async throws -> [String: [String: (Int64, TransactionStatus)]] {
        let accounts = try await store.database.withSession { db in
            try await db.raw("SELECT id, provider_account_id FROM accounts WHERE user_id = \(bind: user.rawValue)").all()
        }
        var providerID: [String: String] = [:]
        for row in accounts { providerID[try row.decode(column: "id", as: String.self)] = try row.decode(column: "provider_account_id", as: String.self) }
        var result: [String: [String: (Int64, TransactionStatus)]] = [:]
        for transaction in try await store.transactions.list(userID: user, limit: 1_000_000) {
            result[providerID[transaction.accountID.rawValue]!, default: [:]][transaction.providerTransactionID] = (transaction.amount.minorUnits, transaction.status)
        }
        return result
    }

    /// Fails unless the store holds exactly the sandbox's current rows for every account.
    static func expectConverged(_ store: Store, user: Identifier<User>, world: SandboxWorld, connection: String, _ when: String) async throws {
        let mine = try await stored(store, user: user)
        for account in await world.accounts(ofConnection: connection) {
            let truth = await world.currentTransactions(ofAccount: account.id)
            let have = mine[account.id] ?? [:]
            #expect(Set(have.keys) == Set(truth.map(\.id)), "\(when): rows of \(account.kind)")
            for row in truth {
                #expect(have[row.id]?.0 == row.amount, "\(when): amount of \(row.id)")
                #expect(have[row.id]?.1 == (row.pending ? .pending : .posted), "\(when): status of \(row.id)")
            }
        }
    }

    @Test("initial and incremental syncs equal the bank; pending rows are replaced by posted ones with the user's category; mutation mid-sync restarts", arguments: TestEngine.available)
    func converges(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            var logger = Logger(label: "sync-test")
            logger.logLevel = .warning
            let world = SandboxWorld(configuration: .init(seed: 21, historyDays: 30))
            try await SandboxServer(world: world, logger: logger).withRunning { base in
                let plaid = PlaidClient(
                    configuration: .init(baseURL: base + "/plaid", clientID: "sandbox-client-id", secret: "sandbox-secret"), client: HTTPClient.shared,
                    logger: logger)
                let credential = try await plaid.exchange(publicToken: try await plaid.sandboxPublicToken(institutionID: "ins_109510"))
                let now = Date()
                let tenant = try await store.tenants.create(name: "Acme", now: now)
                let user = User(tenantID: tenant.id, externalID: "u-1", createdAt: now)
                try await store.users.insert(user)
                let connection = Connection(userID: user.id, provider: .plaid, providerConnectionID: credential.externalID, createdAt: now)
                try await store.connections.insert(connection, accessToken: credential.secret)
                let sync = CursorTransactionSync(store: store, provider: plaid, logger: logger)

                let first = try await sync.run(connectionID: connection.id)
                #expect(first.state == .completed && first.added > 0 && first.removed == 0)
                #expect(try await store.accounts.list(connectionID: connection.id).count == 4, "accounts discovered on the way")
                try await Self.expectConverged(store, user: user.id, world: world, connection: credential.externalID, "after the initial sync")

                // The user files every pending charge under a category of their own.
                let pending = try await store.transactions.list(userID: user.id, limit: 10_000).filter { $0.status == .pending }
                #expect(!pending.isEmpty)
                try await store.database.withSession { db in
                    try await db.raw("UPDATE transactions SET category = 'coffee-with-friends', category_source = 'user', category_confidence = 1 WHERE status = 'pending'").run()
                }
                await world.advance(seconds: 4 * 86_400)
                let second = try await sync.run(connectionID: connection.id)
                #expect(second.removed > 0)
                try await Self.expectConverged(store, user: user.id, world: world, connection: credential.externalID, "after four days")
                let pendingIDs = Set(pending.map(\.providerTransactionID))
                let successors = try await store.transactions.list(userID: user.id, limit: 10_000).filter { $0.pendingTransactionID.map(pendingIDs.contains) == true }
                #expect(!successors.isEmpty, "some of those pending rows posted")
                for successor in successors {
                    #expect(successor.category?.category == "coffee-with-friends" && successor.category?.source == .user, "the user's edit moved to the posted row")
                }
                for row in pending {
                    #expect(try await store.transactions.find(accountID: row.accountID, providerTransactionID: row.providerTransactionID)?.removedAt != nil, "pending rows four days old are gone")
                }

                // The data moves while pages are read: the sync restarts and still converges; a
                // failed page (500) fails the run without touching stored data or the cursor.
                await world.advance(seconds: 2 * 86_400)
                await world.setFaults([FaultRule(provider: .plaid, endpoint: "/transactions/sync", kind: .serverError, calls: [1])])
                let cursorBefore = try await store.connections.get(connection.id)?.cursor
                await #expect(throws: ProviderError.self) { try await sync.run(connectionID: connection.id) }
                #expect(try await store.connections.get(connection.id)?.cursor == cursorBefore)
                await world.setFaults([FaultRule(provider: .plaid, endpoint: "/transactions/sync", kind: .mutationDuringPagination, calls: [1])])
                try await sync.run(connectionID: connection.id)
                try await Self.expectConverged(store, user: user.id, world: world, connection: credential.externalID, "after a restarted sync")
                let runs = try await store.syncRuns.list(connectionID: connection.id)
                #expect(runs.count == 4)
                #expect(runs.contains { $0.state == .failed && $0.errorCode == "INTERNAL_SERVER_ERROR" })
            }
        }
    }
}
