import BankSyncCore
import BankSyncStore
import BankSyncTesting
import Foundation
import SQLKit
import Testing

@Suite("Transactions")
struct TransactionRepositoryTests {
    @Test("a batch larger than one statement is stored whole and reads back exactly", arguments: TestEngine.available)
    func batchInsert(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let fixture = try await Fixture.make(in: store)
            let rows = try (0..<2_345).map { i in
                var t = try fixture.transaction("t\(i)", amount: "-\(i).\(String(format: "%02d", i % 100))", date: "2026-05-\(String(format: "%02d", i % 28 + 1))")
                t.merchantName = i % 2 == 0 ? "Blue Bottle" : nil
                t.authorizedDate = i % 3 == 0 ? try CalendarDate(parsing: "2026-04-30") : nil
                t.providerCategory = "FOOD_AND_DRINK_COFFEE"
                return t
            }
            let ids = try await store.transactions.upsert(rows)
            #expect(ids.count == 2_345)
            #expect(try await store.transactions.count(accountID: fixture.account.id) == 2_345)
            let sample = rows[1_234]
            let stored = try #require(try await store.transactions.get(sample.id))
            #expect(stored == sample)
        }
    }

    @Test("text with quotes, backslashes, control characters, emoji and other scripts, extreme amounts and confidences store exactly", arguments: TestEngine.available)
    func awkwardValuesRoundTrip(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let fixture = try await Fixture.make(in: store)
            let texts = [
                #"SQ *"QUOTED" \\ BACKSLASH\"#, "TAB\tNEWLINE\nCR\r BELL\u{07}", "☕️ Café Zürich 東京 مقهى", "", "' OR 1=1; --", String(repeating: "LONG ", count: 400),
            ]
            var rows: [Transaction] = []
            for (i, text) in texts.enumerated() {
                var t = try fixture.transaction("odd\(i)", amount: i % 2 == 0 ? "-92233720368547758.07" : "0.01")
                t.description = text
                t.merchantName = text.isEmpty ? nil : text
                t.category = CategoryAssignment(category: "FOOD_AND_DRINK", confidence: i == 0 ? 1e-7 : 0.123456789, source: .model)
                rows.append(t)
            }
            try await store.database.transaction { db in try await store.transactions.write(rows, on: db) }
            try await Self.expectStoredExactly(rows, in: store)
        }
    }

    @Test("rows written as new (PostgreSQL: COPY) store exactly, awkward text included", arguments: TestEngine.available)
    func newRowsRoundTrip(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let fixture = try await Fixture.make(in: store)
            let texts = [#"back\slash \N \t"#, "TAB\tNEWLINE\nCR\r BELL\u{07}", "☕️ Café 東京", "", "plain"]
            let rows = try (0..<(TransactionRepository.rowsForCopy + 36)).map { i in
                var t = try fixture.transaction("new\(i)", amount: i % 2 == 0 ? "-92233720368547758.07" : "12.34")
                t.description = texts[i % texts.count]
                t.merchantName = i % 3 == 0 ? nil : texts[(i + 1) % texts.count]
                t.category = i % 4 == 0 ? CategoryAssignment(category: "FOOD_AND_DRINK", confidence: 0.123456789, source: .model) : nil
                t.authorizedDate = i % 5 == 0 ? try CalendarDate(parsing: "2026-04-30") : nil
                return t
            }
            let encoded = TransactionRepository.encode(rows, for: store.database.engine) { _ in true }
            try await store.database.transaction { db in try await store.transactions.write(encoded, on: db) }
            #expect(try await store.transactions.count(accountID: fixture.account.id) == rows.count)
            try await Self.expectStoredExactly(rows, in: store)
        }
    }

    @Test("a row taken for new that is stored already is upserted: the transaction's other writes stay and the user's category survives", arguments: TestEngine.available)
    func newRowThatExists(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let fixture = try await Fixture.make(in: store)
            var mine = try fixture.transaction("existing")
            mine.category = CategoryAssignment(category: "FOOD_AND_DRINK_RESTAURANT", confidence: 1, source: .user)
            try await store.transactions.upsert([mine])
            var again = try fixture.transaction("existing", amount: "-9.99")
            again.category = CategoryAssignment(category: "FOOD_AND_DRINK_COFFEE", confidence: 0.8, source: .model)
            let rows = try [again] + (0..<TransactionRepository.rowsForCopy).map { try fixture.transaction("fresh\($0)") }
            let encoded = TransactionRepository.encode(rows, for: store.database.engine) { _ in true }
            let later = try fixture.transaction("written-after")
            try await store.database.transaction { db in
                try await store.transactions.write([try fixture.transaction("written-before")], on: db)
                try await store.transactions.write(encoded, on: db)
                try await store.transactions.write([later], on: db)
            }
            #expect(try await store.transactions.count(accountID: fixture.account.id) == rows.count + 2)
            let stored = try #require(try await store.transactions.find(accountID: fixture.account.id, providerTransactionID: "existing"))
            #expect(stored.id == mine.id)
            #expect(stored.amount == again.amount)
            #expect(stored.category?.source == .user)
            #expect(stored.category?.category == "FOOD_AND_DRINK_RESTAURANT")
            #expect(try await store.transactions.find(accountID: fixture.account.id, providerTransactionID: "written-before") != nil)
            #expect(try await store.transactions.get(later.id) == later)
        }
    }

    @Test("settlements in one batch: each posted row takes its pending row's user category, the last named wins, links replace older ones", arguments: TestEngine.available)
    func batchedSettlements(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let fixture = try await Fixture.make(in: store)
            let account = fixture.account.id
            func key(_ id: String) -> TransactionKey { TransactionKey(accountID: account, providerTransactionID: id) }
            // p0…p2199 pending (every third with the user's category), s0…s2199 posted: more than one statement's worth.
            var rows: [Transaction] = []
            for i in 0..<2_200 {
                var pending = try fixture.transaction("p\(i)", amount: "-1.00", status: .pending)
                if i % 3 == 0 { pending.category = CategoryAssignment(category: "user-\(i)", confidence: 1, source: .user) }
                rows.append(pending)
                var posted = try fixture.transaction("s\(i)", amount: "-1.00")
                posted.category = CategoryAssignment(category: "FOOD_AND_DRINK", confidence: 0.5, source: .model)
                rows.append(posted)
            }
            try await store.transactions.upsert(rows)
            let old = Date(timeIntervalSince1970: 1_700_000_000)
            let now = Date(timeIntervalSince1970: 1_780_000_000.123)
            try await store.database.transaction { db in
                try await store.transactionLinks.record(
                    [TransactionLink(accountID: account, postedProviderID: "s1", pendingProviderID: "old", method: "matcher", confidence: 0.7, createdAt: old)], on: db)
            }
            #expect(try await store.transactionLinks.undo(accountID: account, postedProviderID: "s1", at: old))
            var settlements = (0..<2_200).map { (pending: key("p\($0)"), posted: key("s\($0)")) }
            settlements.append((pending: key("p3"), posted: key("s1")))  // s1 named again: p3's choice wins
            try await store.database.transaction { db in
                try await store.transactions.carryUserCategories(settlements, on: db)
                try await store.transactionLinks.record(
                    settlements.map {
                        TransactionLink(
                            accountID: account, postedProviderID: $0.posted.providerTransactionID, pendingProviderID: $0.pending.providerTransactionID,
                            method: "provider", confidence: 0.123456789, createdAt: now)
                    }, on: db)
            }
            for i in [0, 1, 2, 3, 2_196, 2_197, 2_199] {
                let posted = try #require(try await store.transactions.find(accountID: account, providerTransactionID: "s\(i)"))
                let expected = i == 1 ? "user-3" : (i % 3 == 0 ? "user-\(i)" : "FOOD_AND_DRINK")
                #expect(posted.category?.category == expected, "s\(i)")
                #expect(posted.category?.source == (expected == "FOOD_AND_DRINK" ? .model : .user), "s\(i)")
            }
            let links = try await store.transactionLinks.list(accountID: account)
            #expect(links.count == 2_200)
            let replaced = try #require(links.first { $0.postedProviderID == "s1" })
            #expect(replaced.pendingProviderID == "p3" && replaced.method == "provider" && replaced.undoneAt == nil)
            #expect(replaced.confidence == 0.123456789 && replaced.createdAt == Date(millisecondsSince1970: now.millisecondsSince1970))
            #expect(links.first { $0.postedProviderID == "s2199" }?.pendingProviderID == "p2199")
        }
    }

    @Test("re-syncing a transaction updates it in place: same id, no duplicate", arguments: TestEngine.available)
    func updateInPlace(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let fixture = try await Fixture.make(in: store)
            let original = try fixture.transaction("t1", amount: "-4.50", status: .pending)
            try await store.transactions.upsert([original])
            var posted = try fixture.transaction("t1", amount: "-4.75", date: "2026-05-03")
            posted.merchantName = "Blue Bottle"
            let ids = try await store.transactions.upsert([posted])
            #expect(ids[TransactionKey(accountID: fixture.account.id, providerTransactionID: "t1")] == original.id)
            #expect(try await store.transactions.count(accountID: fixture.account.id) == 1)
            let stored = try #require(try await store.transactions.find(accountID: fixture.account.id, providerTransactionID: "t1"))
            #expect(stored.id == original.id)
            #expect(stored.status == .posted)
            #expect(stored.amount.decimalString == "-4.75")
            #expect(stored.merchantName == "Blue Bottle")
        }
    }

    @Test("a category the user chose survives a re-sync that carries an automatic one", arguments: TestEngine.available)
    func userCategorySurvives(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let fixture = try await Fixture.make(in: store)
            var mine = try fixture.transaction("t1")
            mine.category = CategoryAssignment(category: "FOOD_AND_DRINK_RESTAURANT", confidence: 1, source: .user)
            try await store.transactions.upsert([mine])
            var resync = try fixture.transaction("t1")
            resync.category = CategoryAssignment(category: "FOOD_AND_DRINK_COFFEE", confidence: 0.8, source: .model)
            var other = try fixture.transaction("t2")
            other.category = CategoryAssignment(category: "TRAVEL_FLIGHTS", confidence: 0.6, source: .model)
            try await store.transactions.upsert([resync, other])
            let stored = try #require(try await store.transactions.find(accountID: fixture.account.id, providerTransactionID: "t1"))
            #expect(stored.category?.category == "FOOD_AND_DRINK_RESTAURANT")
            #expect(stored.category?.source == .user)
            // A model category is replaced by a newer model category, and kept when none comes.
            var newer = try fixture.transaction("t2")
            newer.category = CategoryAssignment(category: "TRAVEL_TRAIN", confidence: 0.9, source: .model)
            try await store.transactions.upsert([newer])
            try await store.transactions.upsert([try fixture.transaction("t2")])
            let t2 = try #require(try await store.transactions.find(accountID: fixture.account.id, providerTransactionID: "t2"))
            #expect(t2.category == CategoryAssignment(category: "TRAVEL_TRAIN", confidence: 0.9, source: .model))
        }
    }

    @Test("a re-sync that changes what an automatic category was decided from marks it undecided; unchanged rows and user choices stay decided", arguments: TestEngine.available)
    func changedRowsAreDecidedAgain(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let fixture = try await Fixture.make(in: store)
            let ids = try await store.transactions.upsert(["auto", "same", "mine", "amount"].map { try fixture.transaction($0, description: "SQ *BLUE BOTTLE") })
            let decided = Date(timeIntervalSince1970: 1_780_000_100)
            let decisions = try ["auto", "same", "amount"].map { provider in
                CategorizationRepository.Decision(
                    transactionID: try #require(ids[TransactionKey(accountID: fixture.account.id, providerTransactionID: provider)]),
                    category: CategoryAssignment(category: "FOOD_AND_DRINK_COFFEE", confidence: 0.8, source: .model), note: "model")
            }
            try await store.categorization.apply(decisions, at: decided)
            let mineID = try #require(ids[TransactionKey(accountID: fixture.account.id, providerTransactionID: "mine")])
            try await store.categorization.setUserCategory(mineID, userID: fixture.user.id, category: "FOOD_AND_DRINK_RESTAURANT", merchantKey: nil, now: decided)

            // The bank posts "auto" and "mine" under a new descriptor and corrects "amount".
            try await store.transactions.upsert([
                try fixture.transaction("auto", description: "BLUE BOTTLE COFFEE #12"),
                try fixture.transaction("same", description: "SQ *BLUE BOTTLE"),
                try fixture.transaction("mine", description: "BLUE BOTTLE COFFEE #12"),
                try fixture.transaction("amount", amount: "-14.30", description: "SQ *BLUE BOTTLE"),
            ])
            func stored(_ provider: String) async throws -> Transaction? {
                try await store.transactions.find(accountID: fixture.account.id, providerTransactionID: provider)
            }
            let auto = try #require(try await stored("auto"))
            #expect(auto.categorizedAt == nil)  // decided again by the next categorize-transactions
            #expect(auto.category?.category == "FOOD_AND_DRINK_COFFEE")  // shown until then
            #expect(try await stored("amount")?.categorizedAt == nil)
            let same = try #require(try await stored("same"))
            #expect(same.categorizedAt == decided)
            let mine = try #require(try await stored("mine"))
            #expect(mine.category?.source == .user)
            #expect(mine.categorizedAt != nil)
            let undecided = try await store.categorization.uncategorized(userID: fixture.user.id, limit: 10).map(\.providerTransactionID)
            #expect(Set(undecided) == ["auto", "amount"])
        }
    }

    @Test("the same provider id twice in one batch keeps the last, without a constraint error", arguments: TestEngine.available)
    func duplicatesInBatch(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let fixture = try await Fixture.make(in: store)
            let first = try fixture.transaction("dup", amount: "-1.00")
            let second = try fixture.transaction("dup", amount: "-2.00")
            try await store.transactions.upsert([first, try fixture.transaction("x"), second])
            #expect(try await store.transactions.count(accountID: fixture.account.id) == 2)
            let stored = try await store.transactions.find(accountID: fixture.account.id, providerTransactionID: "dup")
            #expect(stored?.amount.minorUnits == -200)
        }
    }

    @Test("the user feed is newest first, bounded by dates, and hides removed rows", arguments: TestEngine.available)
    func feed(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let fixture = try await Fixture.make(in: store)
            var removed = try fixture.transaction("gone", date: "2026-05-04")
            removed.removedAt = Date(timeIntervalSince1970: 1_780_000_000)
            try await store.transactions.upsert([
                try fixture.transaction("a", date: "2026-05-01"), try fixture.transaction("b", date: "2026-05-03"),
                try fixture.transaction("c", date: "2026-05-02"), removed,
            ])
            let feed = try await store.transactions.list(userID: fixture.user.id)
            #expect(feed.map(\.providerTransactionID) == ["b", "c", "a"])
            let window = try await store.transactions.list(
                userID: fixture.user.id, from: try CalendarDate(parsing: "2026-05-02"), to: try CalendarDate(parsing: "2026-05-04"),
                includeRemoved: true)
            #expect(window.map(\.providerTransactionID) == ["gone", "b", "c"])
        }
    }

    @Test("a transaction for an account that does not exist is refused and nothing of the batch is kept", arguments: TestEngine.available)
    func foreignKeyRollsBackBatch(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let fixture = try await Fixture.make(in: store)
            var orphan = try fixture.transaction("orphan")
            orphan.accountID = "no-such-account"
            await #expect(throws: (any Error).self) {
                try await store.transactions.upsert([try fixture.transaction("ok"), orphan])
            }
            #expect(try await store.transactions.count(accountID: fixture.account.id) == 0)
        }
    }

    /// Each of `rows` reads back by its id exactly as it was written.
    static func expectStoredExactly(_ rows: [Transaction], in store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for row in rows {
            let stored = try #require(try await store.transactions.get(row.id), sourceLocation: sourceLocation)
            #expect(stored == row, "\(row.providerTransactionID)", sourceLocation: sourceLocation)
        }
    }
}
