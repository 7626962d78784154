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
import Synchronization
import Testing

@Suite("Teller and GoCardless window sync, end to end against the sandbox")
struct WindowSyncTests {
    /// Stores a user, the connection and its accounts as discovered through `accounts`.
    static func linked(_ store: Store, provider: Provider, credential: ConnectionCredential, accounts: [ProviderAccount]) async throws -> (User, Connection) {
        let now = Date()
        let tenant = try await store.tenants.create(name: "Acme", now: now)
        let user = User(tenantID: tenant.id, externalID: "u-\(provider.rawValue)", createdAt: now)
        try await store.users.insert(user)
        let connection = Connection(userID: user.id, provider: provider, providerConnectionID: credential.externalID, createdAt: now)
        try await store.connections.insert(connection, accessToken: credential.secret)
        try await store.accounts.upsert(accounts.map {
            Account(
                connectionID: connection.id, userID: user.id, providerAccountID: $0.providerAccountID, name: $0.name, mask: $0.mask, type: $0.type,
                subtype: $0.subtype, currency: $0.currency, createdAt: now)
        })
        return (user, connection)
    }

    /// A Teller connection created in the sandbox world and stored with its accounts.
    static func linkedTeller(_ store: Store, world: SandboxWorld, client teller: TellerClient) async throws -> (User, Connection) {
        let created = await world.control(SandboxRequest(method: "POST", path: "/connections", body: Array(#"{"provider": "teller"}"#.utf8)))
        let json = try JSONValue.parse(created.body)
        let credential = ConnectionCredential(secret: try #require(json["access_token"]?.stringValue), externalID: try #require(json["id"]?.stringValue))
        return try await linked(store, provider: .teller, credential: credential, accounts: try await teller.accounts(credential))
    }

    /// The store equals the sandbox for every account: posted rows by id, pending rows by
    /// (amount, date) as a multiset (GoCardless pending rows have no ids).
    static func expectConverged(_ store: Store, user: User, connection: Connection, world: SandboxWorld, _ when: String) async throws {
        let accounts = try await store.accounts.list(connectionID: connection.id)
        let mine = try await store.transactions.list(userID: user.id, limit: 1_000_000)
        for account in accounts {
            let truth = await world.currentTransactions(ofAccount: account.providerAccountID)
            let have = mine.filter { $0.accountID == account.id }
            func pendingShape(_ rows: [(Int64, String)]) -> [String] { rows.map { "\($0.0)@\($0.1)" }.sorted() }
            #expect(Set(have.filter { $0.status == .posted }.map(\.providerTransactionID)) == Set(truth.filter { !$0.pending }.map(\.id)), "\(when): posted rows of \(account.name)")
            #expect(
                pendingShape(have.filter { $0.status == .pending }.map { ($0.amount.minorUnits, $0.date.description) })
                    == pendingShape(truth.filter(\.pending).map { ($0.amount, $0.date.description) }), "\(when): pending rows of \(account.name)")
            for row in truth where !row.pending {
                #expect(have.first { $0.providerTransactionID == row.id }?.amount.minorUnits == row.amount, "\(when): amount of \(row.id)")
            }
        }
    }

    @Test("Teller: pending rows flip in place, new days arrive, re-fetching the overlap changes nothing", arguments: TestEngine.available)
    func teller(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            var logger = Logger(label: "window-test")
            logger.logLevel = .warning
            let world = SandboxWorld(configuration: .init(seed: 5, historyDays: 30))
            try await SandboxServer(world: world, logger: logger).withRunning { base in
                let teller = TellerClient(configuration: .init(baseURL: base + "/teller"), client: HTTPClient.shared, logger: logger)
                let (user, connection) = try await Self.linkedTeller(store, world: world, client: teller)
                let sync = WindowTransactionSync(store: store, logger: logger) { credential, account, from, to in
                    try await teller.transactions(
                        credential, account: ProviderAccount(providerAccountID: account.providerAccountID, name: account.name, type: account.type, currency: account.currency),
                        from: from, to: to)
                }
                func today() async throws -> CalendarDate { try CalendarDate(parsing: await world.today.description) }
                let first = try await sync.run(connectionID: connection.id, today: try await today())
                #expect(first.added > 0)
                try await Self.expectConverged(store, user: user, connection: connection, world: world, "initial")
                let again = try await sync.run(connectionID: connection.id, today: try await today())
                #expect(again.added == 0 && again.modified == 0 && again.removed == 0, "the same window twice changes nothing")
                for day in 1...5 {
                    await world.advance(seconds: 86_400)
                    try await sync.run(connectionID: connection.id, today: try await today())
                    try await Self.expectConverged(store, user: user, connection: connection, world: world, "day \(day)")
                }
            }
        }
    }

    @Test("an account whose stored rows change after it was compared is compared again inside the transaction", arguments: TestEngine.available)
    func comparedAgainInsideTheTransaction(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            var logger = Logger(label: "window-test")
            logger.logLevel = .warning
            let world = SandboxWorld(configuration: .init(seed: 9, historyDays: 30))
            try await SandboxServer(world: world, logger: logger).withRunning { base in
                let teller = TellerClient(configuration: .init(baseURL: base + "/teller"), client: HTTPClient.shared, logger: logger)
                let (user, connection) = try await Self.linkedTeller(store, world: world, client: teller)
                let accounts = try await store.accounts.list(connectionID: connection.id)
                try #require(accounts.count >= 2)
                let first = accounts[0]  // the sync walks the same list in the same order
                let today = try CalendarDate(parsing: await world.today.description)
                // A row the bank never listed, stored once the first account has been fetched and
                // compared (while the second is fetched): the comparison made before it is stale.
                let ghost = Transaction(
                    accountID: first.id, userID: user.id, providerTransactionID: "ghost", status: .posted,
                    amount: try Money(parsing: "-1.00", currency: first.currency), date: today, description: "NOT AT THE BANK", createdAt: Date())
                let stored = Mutex(false)
                let sync = WindowTransactionSync(store: store, logger: logger) { credential, account, from, to in
                    if account.id != first.id, !stored.withLock({ done in defer { done = true }; return done }) {
                        try await store.transactions.upsert([ghost])
                    }
                    return try await teller.transactions(
                        credential, account: ProviderAccount(providerAccountID: account.providerAccountID, name: account.name, type: account.type, currency: account.currency),
                        from: from, to: to)
                }
                let run = try await sync.run(connectionID: connection.id, today: today)
                #expect(stored.withLock { $0 })
                let row = try #require(try await store.transactions.find(accountID: first.id, providerTransactionID: "ghost"))
                #expect(row.removedAt != nil, "the bank does not list it, so the sync removes it")
                #expect(run.removed == 1)
                try await Self.expectConverged(store, user: user, connection: connection, world: world, "after the sync")
            }
        }
    }

    @Test("GoCardless: id-less pending rows are replaced as a set and settled by the matcher, with the user's category", arguments: TestEngine.available)
    func gocardless(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            var logger = Logger(label: "window-test")
            logger.logLevel = .warning
            let world = SandboxWorld(configuration: .init(seed: 9, historyDays: 30))
            try await SandboxServer(world: world, logger: logger).withRunning { base in
                let client = GoCardlessClient(
                    configuration: .init(baseURL: base + "/gocardless", secretID: "sandbox-secret-id", secretKey: "sandbox-secret-key"), client: HTTPClient.shared,
                    logger: logger)
                let session = try await client.startLink(institutionID: "N26_NTSBDEB1", redirect: "https://app.example/done", reference: "ref-\(engine)")
                _ = await world.completeGoCardlessConsent(requisition: session.token)
                let credential = try await client.completeLink(requisitionID: session.token)
                let (user, connection) = try await Self.linked(store, provider: .gocardless, credential: credential, accounts: try await client.accounts(credential))
                let sync = WindowTransactionSync(store: store, logger: logger) { _, account, from, to in
                    try await client.transactions(accountID: account.providerAccountID, from: from, to: to)
                }
                func today() async throws -> CalendarDate { try CalendarDate(parsing: await world.today.description) }
                try await sync.run(connectionID: connection.id, today: try await today())
                try await Self.expectConverged(store, user: user, connection: connection, world: world, "initial")
                // The user files every pending row under their own category.
                let filed = Set(try await store.transactions.list(userID: user.id, limit: 100_000).filter { $0.status == .pending }.map(\.providerTransactionID))
                try await store.database.withSession { db in
                    try await db.raw("UPDATE transactions SET category = 'mine', category_source = 'user', category_confidence = 1 WHERE status = 'pending'").run()
                }
                for day in 1...4 {
                    await world.advance(seconds: 86_400)
                    try await sync.run(connectionID: connection.id, today: try await today())
                    try await Self.expectConverged(store, user: user, connection: connection, world: world, "day \(day)")
                }
                let settled = try await store.transactions.list(userID: user.id, limit: 100_000).filter { $0.status == .posted && $0.pendingTransactionID.map(filed.contains) == true }
                #expect(!settled.isEmpty, "posted rows were matched to the pending rows the user had filed")
                #expect(settled.allSatisfy { $0.category?.source == .user && $0.category?.category == "mine" })

                // Each settlement is recorded with the matcher's confidence, and can be undone.
                let posted = try #require(settled.first)
                let links = try await store.transactionLinks.list(accountID: posted.accountID)
                let link = try #require(links.first { $0.postedProviderID == posted.providerTransactionID })
                #expect(link.method == "matcher" && link.confidence >= PendingMatcher.threshold && link.confidence <= 1)
                #expect(link.pendingProviderID == posted.pendingTransactionID)
                #expect(try await store.transactionLinks.undo(accountID: posted.accountID, postedProviderID: posted.providerTransactionID, at: Date()))
                #expect(try await store.transactions.get(posted.id)?.pendingTransactionID == nil)
                let revived = try await store.transactions.find(accountID: posted.accountID, providerTransactionID: link.pendingProviderID)
                #expect(revived?.removedAt == nil, "the pending row is live again")
                #expect(try await store.transactionLinks.list(accountID: posted.accountID).first { $0.postedProviderID == posted.providerTransactionID }?.undoneAt != nil)
                #expect(try await !store.transactionLinks.undo(accountID: posted.accountID, postedProviderID: posted.providerTransactionID, at: Date()), "undone once")
            }
        }
    }
}
