import BankSyncCategorizer
import BankSyncCore
import BankSyncEngine
import BankSyncJobs
import BankSyncProviders
import BankSyncSandbox
import BankSyncStore
import BankSyncTesting
import Foundation
import SQLKit
import Testing

@Suite("Categorization through the queue: decision order, rules, corrections")
struct CategorizationTests {
    static let model = try! ShippedModel.load()
    /// A few labeled rows: what a re-training starts from in these tests.
    static let smallBase = try! LabeledCSV.read(
        """
        description,category
        STARBUCKS STORE 0001,FOOD_AND_DRINK_COFFEE
        PEETS COFFEE 22,FOOD_AND_DRINK_COFFEE
        SHELL OIL 57444,TRANSPORTATION_GAS
        CHEVRON 0091,TRANSPORTATION_GAS
        SAFEWAY #1711,FOOD_AND_DRINK_GROCERIES
        WHOLEFDS MKT 10233,FOOD_AND_DRINK_GROCERIES
        NETFLIX.COM,ENTERTAINMENT_TV_AND_MOVIES
        """)

    static func configuration(threshold: Double = 0.5) -> SyncEngine.Configuration {
        var configuration = SyncEngine.Configuration()
        configuration.categorizer = CategoryDecider(model: model, threshold: threshold)
        configuration.categorizeBatchSize = 37  // several batches per user
        // The daily re-training, when a test's days cross 03:00, starts from a few rows: the full
        // shipped set takes minutes in a debug build.
        configuration.retrainingBase = Self.smallBase
        return configuration
    }

    /// The taxonomy's code for the row's provider category, if it has one.
    static func mapped(_ row: Transaction) -> String? {
        guard let category = row.providerCategory else { return nil }
        return Taxonomy.standard.code(forProviderCategory: category)
    }

    func live(_ h: EngineHarness, _ user: User) async throws -> [Transaction] {
        try await h.store.transactions.list(userID: user.id, limit: 1_000_000)
    }

    func jobs(_ h: EngineHarness, named name: String) async throws -> [String] {
        try await h.store.database.withSession { db in
            try await db.raw("SELECT state FROM jobs WHERE name = \(bind: name)").all().map { try $0.decode(column: "state", as: String.self) }
        }
    }

    @Test("every synced row is decided by categorize-transactions, with its category, confidence, source and reason", arguments: TestEngine.available)
    func syncedRowsAreCategorized(engine: TestEngine) async throws {
        try await EngineHarness.run(engine, configuration: Self.configuration()) { h in
            let user = try await h.user()
            for provider in Provider.allCases { _ = try await h.link(provider, user: user) }
            try await h.drain()
            let rows = try await live(h, user)
            #expect(!rows.isEmpty)
            #expect(rows.allSatisfy { $0.categorizedAt != nil && $0.categoryNote != nil }, "every row decided")
            #expect(rows.compactMap(\.category).allSatisfy { Taxonomy.standard.contains($0.category) && (0...1).contains($0.confidence) })
            let sources = Set(rows.compactMap(\.category?.source))
            #expect(sources.contains(.model), "\(sources)")
            #expect(try await jobs(h, named: "categorize-transactions").allSatisfy { $0 == "completed" })
            // The model knows the sandbox's everyday merchants.
            let coffee = rows.filter { ($0.merchantName ?? "").contains("Starbucks") && $0.category?.source == .model }
            #expect(coffee.allSatisfy { Taxonomy.standard.primary(of: $0.category!.category) == "FOOD_AND_DRINK" }, "\(coffee.map { $0.category!.category })")
        }
    }

    @Test("below the threshold the model abstains: the provider's category, else uncategorized with the reason", arguments: TestEngine.available)
    func abstainsToProvider(engine: TestEngine) async throws {
        try await EngineHarness.run(engine, configuration: Self.configuration(threshold: 1.01)) { h in
            let user = try await h.user()
            _ = try await h.link(.teller, user: user)
            _ = try await h.link(.gocardless, user: user)
            try await h.drain()
            let rows = try await live(h, user)
            #expect(!rows.contains { $0.category?.source == .model })
            let (withProvider, without) = Self.partition(rows)
            #expect(!withProvider.isEmpty)
            #expect(!without.isEmpty, "GoCardless bank codes are not categories")
            for row in withProvider { try Self.expectProviderDecision(row) }
            for row in without { try Self.expectUndecided(row) }
        }
    }

    /// Rows whose provider category maps onto the taxonomy, and the rest.
    static func partition(_ rows: [Transaction]) -> ([Transaction], [Transaction]) {
        var mapped: [Transaction] = []
        var other: [Transaction] = []
        for row in rows {
            if Self.mapped(row) != nil { mapped.append(row) } else { other.append(row) }
        }
        return (mapped, other)
    }

    static func expectProviderDecision(_ row: Transaction) throws {
        let category = try #require(row.category)
        #expect(category.source == .provider && category.category == Self.mapped(row))
        #expect(row.categoryNote?.contains("under 1.01") == true)
    }

    static func expectUndecided(_ row: Transaction) throws {
        #expect(row.category.map { _ in false } ?? true, "\(row.category.map { "\($0)" } ?? "")")
        #expect(row.categorizedAt.map { _ in true } ?? false)
        #expect(row.categoryNote?.contains("best guess") == true, "\(row.categoryNote ?? "")")
    }

    @Test("a rule beats the model, the user's choice beats a rule, and one correction decides that merchant's other rows", arguments: TestEngine.available)
    func decisionOrder(engine: TestEngine) async throws {
        try await EngineHarness.run(engine, configuration: Self.configuration()) { h in
            let user = try await h.user()
            _ = try await h.link(.teller, user: user)
            try await h.drain()
            let tenant = try #require(try await h.store.users.get(user.id)).tenantID
            // The most frequent merchant: its rows go to gambling by a tenant rule.
            let rows = try await live(h, user)
            let merchant = try #require(Dictionary(grouping: rows.compactMap(\.merchantName), by: { $0 }).max { $0.value.count < $1.value.count }?.key)
            let rule = CategoryRule(
                tenantID: tenant, name: "casino night", conditions: [.text(field: .merchant, match: .equals, value: merchant.uppercased()), .direction(.outflow)],
                category: "ENTERTAINMENT_CASINOS_AND_GAMBLING", createdAt: h.clock.now)
            try await h.engine.saveRule(rule)
            try await h.drain()
            var mine = try await live(h, user).filter { $0.merchantName == merchant && $0.amount.minorUnits < 0 }
            #expect(!mine.isEmpty && mine.allSatisfy { $0.category?.source == .rule && $0.category?.category == "ENTERTAINMENT_CASINOS_AND_GAMBLING" })
            #expect(mine.allSatisfy { $0.categoryNote == "rule \"casino night\"" })

            // The user says one of them is travel: it stays travel when the rules run again.
            let corrected = mine[0]
            try await h.engine.setCategory(corrected.id, userID: user.id, category: "TRAVEL_FLIGHTS")
            try await h.engine.saveRule(rule)  // re-applied to past rows
            try await h.drain()
            #expect(try await h.store.transactions.get(corrected.id)?.category == CategoryAssignment(category: "TRAVEL_FLIGHTS", confidence: 1, source: .user))

            // Without the rule, the correction is the user's memory for the merchant: every other
            // row of it, and the next one, is travel.
            try await h.engine.deleteRule(rule.id, tenantID: tenant)
            try await h.drain()
            mine = try await live(h, user).filter { $0.merchantName == merchant }
            #expect(mine.allSatisfy { $0.category?.category == "TRAVEL_FLIGHTS" && ($0.category?.source == .memory || $0.id == corrected.id) })
            let before = Set(mine.map(\.id))
            try await h.advance(hours: 24, times: 4)
            let newer = try await live(h, user).filter { $0.merchantName == merchant && !before.contains($0.id) }
            #expect(newer.allSatisfy { $0.category?.source == .memory && $0.category?.category == "TRAVEL_FLIGHTS" })

            // Bad input is refused with the reason, and nothing changes.
            await #expect(throws: StoreError.self) { try await h.engine.setCategory(corrected.id, userID: user.id, category: "NOT_A_CATEGORY") }
            let bad = CategoryRule(tenantID: tenant, name: "broken", conditions: [.text(field: .description, match: .regex, value: "([")], category: "TRAVEL", createdAt: h.clock.now)
            do {
                try await h.engine.saveRule(bad)
                Issue.record("an invalid regular expression was saved")
            } catch let error as StoreError {
                #expect(error.message.contains("is not a valid regular expression"), "\(error.message)")
            }
            #expect(try await h.store.categorization.rules(tenantID: tenant, userID: user.id).isEmpty)
        }
    }

    @Test("the categorize job commits with the rows that caused it: a failed write leaves neither", arguments: TestEngine.available)
    func enqueuedWithTheRows(engine: TestEngine) async throws {
        try await EngineHarness.run(engine) { h in
            let user = try await h.user()
            let connection = try await h.link(.plaid, user: user)
            // Run setup and discovery only: the initial sync below is ours.
            struct Refused: Error {}
            var sync = CursorTransactionSync(store: h.store, provider: h.plaid, logger: h.logger)
            sync.inTransaction = { db, connection, _ in
                try await h.queue.enqueue(SyncJobs.categorizeTransactions, CategorizeJob(userID: connection.userID), in: db)
                throw Refused()
            }
            try await h.drain()
            let stored = try await live(h, user).count
            let queued = try await jobs(h, named: "categorize-transactions").count
            _ = await h.world.advance(seconds: 86_400)
            await #expect(throws: Refused.self) { try await sync.run(connectionID: connection.id, now: h.clock.now) }
            #expect(try await live(h, user).count == stored)
            #expect(try await jobs(h, named: "categorize-transactions").count == queued)
            sync.inTransaction = { db, connection, _ in
                try await h.queue.enqueue(SyncJobs.categorizeTransactions, CategorizeJob(userID: connection.userID), in: db)
            }
            try await sync.run(connectionID: connection.id, now: h.clock.now)
            #expect(try await jobs(h, named: "categorize-transactions").count == queued + 1)
        }
    }

    @Test("corrections re-train the tenant's model: another user of the tenant gets the corrected category from the model", arguments: TestEngine.available)
    func tenantRetraining(engine: TestEngine) async throws {
        let configuration = Self.configuration()
        try await EngineHarness.run(engine, configuration: configuration) { h in
            let first = try await h.user("user-1")
            let second = User(tenantID: first.tenantID, externalID: "user-2", createdAt: h.clock.now)
            try await h.store.users.insert(second)
            _ = try await h.link(.teller, user: first)
            _ = try await h.link(.teller, user: second)
            try await h.drain()
            let firstRows = try await live(h, first)
            let merchant = try #require(
                Dictionary(grouping: firstRows.compactMap(\.merchantName), by: { $0 }).filter { $0.value.count >= 3 }.keys.sorted().first)
            for row in firstRows where row.merchantName == merchant {
                try await h.engine.setCategory(row.id, userID: first.id, category: "GENERAL_SERVICES_CHILDCARE")
            }
            try await h.queue.enqueue(SyncJobs.scheduleRetraining, EmptyResult())
            try await h.drain()
            let stored = try #require(try await h.store.categorization.model(tenantID: first.tenantID))
            #expect(stored.corrections == firstRows.filter { $0.merchantName == merchant }.count && stored.trainingRows == 7)
            let theirs = try await live(h, second).filter { $0.merchantName == merchant }
            #expect(!theirs.isEmpty)
            for row in theirs {
                #expect(row.category?.category == "GENERAL_SERVICES_CHILDCARE" && row.category?.source == .model, "\(row.description): \(row.category.map { "\($0)" } ?? "none")")
            }
            // Nothing new to learn: the next daily run re-trains nobody.
            #expect(try await h.store.categorization.tenantsToRetrain().isEmpty)
        }
    }
}
