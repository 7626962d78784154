import BankSyncCore
import BankSyncStore
import BankSyncTesting
import Foundation
import Testing

@Suite("Accounts and balances")
struct AccountRepositoryTests {
    let day = Date(timeIntervalSince1970: 1_780_000_000)  // 2026-05-28T20:26:40Z

    @Test("re-syncing an account updates it and keeps its id", arguments: TestEngine.available)
    func upsertKeepsID(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let fixture = try await Fixture.make(in: store)
            var renamed = fixture.account
            renamed.id = .generate()
            renamed.name = "Everyday Checking"
            try renamed.setStatus(.inactive)
            let ids = try await store.accounts.upsert([renamed])
            #expect(ids["acc-1"] == fixture.account.id)
            let stored = try await store.accounts.list(connectionID: fixture.connection.id)
            #expect(stored.count == 1)
            #expect(stored[0].name == "Everyday Checking")
            #expect(stored[0].status == .inactive)
        }
    }

    @Test("balances keep the newest reading and one history point per day", arguments: TestEngine.available)
    func balances(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let fixture = try await Fixture.make(in: store)
            let usd = fixture.account.currency
            func balance(_ current: String, _ at: Date) throws -> Balance {
                Balance(
                    accountID: fixture.account.id, current: try Money(parsing: current, currency: usd),
                    available: try Money(parsing: current, currency: usd), asOf: at)
            }
            try await store.accounts.recordBalance(try balance("100.00", day))
            try await store.accounts.recordBalance(try balance("120.00", day.addingTimeInterval(600)))
            // A late-arriving older reading must not win.
            try await store.accounts.recordBalance(try balance("90.00", day.addingTimeInterval(-600)))
            try await store.accounts.recordBalance(try balance("80.00", day.addingTimeInterval(86_400)))
            let latest = try #require(try await store.accounts.balance(accountID: fixture.account.id))
            #expect(latest.current.decimalString == "80.00")
            let history = try await store.accounts.balanceHistory(
                accountID: fixture.account.id, from: try CalendarDate(parsing: "2026-05-01"),
                to: try CalendarDate(parsing: "2026-05-31"))
            #expect(history.map(\.date.description) == ["2026-05-28", "2026-05-29"])
            #expect(history.map(\.current.minorUnits) == [9_000, 8_000])
        }
    }

    @Test("a credit card balance owed is negative and its limit positive", arguments: TestEngine.available)
    func creditSign(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let fixture = try await Fixture.make(in: store)
            let usd = fixture.account.currency
            try await store.accounts.recordBalance(
                Balance(
                    accountID: fixture.account.id, current: try Money(parsing: "-410.50", currency: usd),
                    limit: try Money(parsing: "2000", currency: usd), asOf: day))
            let stored = try #require(try await store.accounts.balance(accountID: fixture.account.id))
            #expect(stored.current.minorUnits == -41_050)
            #expect(stored.limit?.minorUnits == 200_000)
            #expect(stored.available == nil)
        }
    }
}
