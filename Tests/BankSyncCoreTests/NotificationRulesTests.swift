import BankSyncCore
import Testing

@Suite("Notification rules")
struct NotificationRulesTests {
    static let usd = try! Currency(code: "USD")
    static let jpy = try! Currency(code: "JPY")

    static func money(_ text: String, _ currency: Currency = usd) -> Money { try! Money(parsing: text, currency: currency) }

    static func change(_ previous: String, _ current: String, _ settings: NotificationSettings = NotificationSettings(), currency: Currency = usd)
        -> BalanceChangeRule.Change?
    {
        BalanceChangeRule.evaluate(previous: money(previous, currency), current: money(current, currency), settings: settings)
    }

    @Test("a balance change needs more than 15 % and more than 100 units, or more than 1,000 units")
    func balanceThresholds() {
        // Exactly 15 % (150 of 1,000) is not more than 15 %; a cent more is.
        #expect(Self.change("1000.00", "850.00") == nil)
        #expect(Self.change("1000.00", "849.99")?.reason == "percent")
        #expect(Self.change("1000.00", "1150.01")?.reason == "percent")
        // 20 % but exactly 100 units: not more than 100.
        #expect(Self.change("500.00", "400.00") == nil)
        #expect(Self.change("500.00", "399.99")?.reason == "percent")
        // 1 % of a large balance: only the absolute rule, which needs more than 1,000.
        #expect(Self.change("100000.00", "101000.00") == nil)
        let big = Self.change("100000.00", "98999.99")
        #expect(big?.reason == "absolute" && big?.change.decimalString == "-1000.01")
        #expect(Self.change("100.00", "100.00") == nil)
    }

    @Test("a previous balance of 0 cannot divide: any change over the floor counts, and the percentage is absent")
    func balanceFromZero() {
        #expect(Self.change("0.00", "100.00") == nil)
        let found = Self.change("0.00", "100.01")
        #expect(found?.reason == "percent" && found?.percent == nil && found?.signFlipped == false)
        #expect(Self.change("0.00", "-2500.00")?.reason == "absolute")
        #expect(Self.change("250.00", "0.00")?.percent == 100)
    }

    @Test("a sign flip is measured against the size of the previous balance")
    func balanceSignFlip() {
        let flipped = Self.change("-50.00", "60.01")
        #expect(flipped?.signFlipped == true && flipped?.reason == "percent")
        #expect(flipped?.change.decimalString == "110.01")
        // A small flip stays below the 100-unit floor.
        #expect(Self.change("-20.00", "30.00") == nil)
    }

    @Test("thresholds are units of the account's currency, configurable, and never compare currencies")
    func balanceSettings() {
        // ¥10,000 → ¥8,000 is 20 % and 2,000 units.
        #expect(Self.change("10000", "8000", currency: Self.jpy)?.reason == "absolute")
        var strict = NotificationSettings()
        strict.balanceChangePercent = 50
        #expect(Self.change("1000.00", "800.00", strict) == nil)
        #expect(Self.change("1000.00", "499.99", strict)?.reason == "percent")
        #expect(BalanceChangeRule.evaluate(previous: Self.money("10.00"), current: Self.money("5000", Self.jpy), settings: strict) == nil)
    }

    @Test("a transaction over the absolute amount is large in either direction; at the amount it is not")
    func largeAbsolute() {
        let settings = NotificationSettings()
        #expect(LargeTransactionRule.evaluate(amount: Self.money("-5000.00"), recentOutflows: [], settings: settings) == nil)
        #expect(LargeTransactionRule.evaluate(amount: Self.money("-5000.01"), recentOutflows: [], settings: settings)?.reason == "absolute")
        #expect(LargeTransactionRule.evaluate(amount: Self.money("5000.01"), recentOutflows: [], settings: settings)?.reason == "absolute")
    }

    @Test("an outflow over 3× the 95th percentile of the account's own outflows is large, once there is enough history")
    func largeHistory() {
        let settings = NotificationSettings()
        let history = Array(repeating: Int64(10_000), count: 19) + [20_000]  // p95 of 20 rows is the 19th: 100.00
        #expect(LargeTransactionRule.percentile(history, 95) == 10_000)
        #expect(LargeTransactionRule.evaluate(amount: Self.money("-300.00"), recentOutflows: history, settings: settings) == nil)
        let found = LargeTransactionRule.evaluate(amount: Self.money("-300.01"), recentOutflows: history, settings: settings)
        #expect(found == LargeTransactionRule.Finding(reason: "history", thresholdMinor: 30_000, percentileMinor: 10_000))
        // Inflows are judged by the absolute amount only.
        #expect(LargeTransactionRule.evaluate(amount: Self.money("900.00"), recentOutflows: history, settings: settings) == nil)
        // Nine outflows are too few to say what is usual.
        #expect(LargeTransactionRule.evaluate(amount: Self.money("-900.00"), recentOutflows: Array(history.prefix(9)), settings: settings) == nil)
        var tuned = settings
        tuned.largeTransactionMinimumHistory = 5
        tuned.largeTransactionMultiple = 2
        #expect(LargeTransactionRule.evaluate(amount: Self.money("-200.01"), recentOutflows: Array(history.prefix(9)), settings: tuned)?.reason == "history")
    }

    @Test("percentiles are nearest-rank")
    func percentiles() {
        #expect(LargeTransactionRule.percentile([], 95) == nil)
        #expect(LargeTransactionRule.percentile([7], 95) == 7)
        #expect(LargeTransactionRule.percentile([5, 1, 3, 2, 4], 50) == 3)
        #expect(LargeTransactionRule.percentile([5, 1, 3, 2, 4], 100) == 5)
        #expect(LargeTransactionRule.percentile(Array(1...100), 95) == 95)
    }

    @Test("a user's preferences override the tenant's, which override the defaults; opt-outs add up")
    func preferencesResolve() {
        let tenant = NotificationPreferences(balanceChangePercent: 20, largeTransactionAmount: 1_000, muted: ["sync.completed"])
        let user = NotificationPreferences(largeTransactionAmount: 250, syncCompleted: .always, muted: ["transactions.updated"])
        let settings = NotificationSettings.resolve(tenant: tenant, user: user)
        #expect(settings.balanceChangePercent == 20)
        #expect(settings.balanceChangeAbsolute == 1_000)
        #expect(settings.largeTransactionAmount == 250)
        #expect(settings.syncCompleted == .always)
        #expect(settings.muted == ["sync.completed", "transactions.updated"])
        #expect(NotificationSettings.resolve(tenant: nil, user: nil) == NotificationSettings())
    }

    @Test("preferences with impossible values are refused, naming the field")
    func preferencesValidate() throws {
        try NotificationPreferences(balanceChangePercent: 15, muted: ["transaction.large"]).validate()
        #expect(throws: DomainError.invalidField(field: "balance_change_percent", message: "-1.0 is not a percentage from 0 to 10000")) {
            try NotificationPreferences(balanceChangePercent: -1).validate()
        }
        #expect(throws: DomainError.self) { try NotificationPreferences(largeTransactionPercentile: 0).validate() }
        #expect(throws: DomainError.self) { try NotificationPreferences(largeTransactionAmount: -5).validate() }
        #expect(Self.validationMessage(NotificationPreferences(muted: ["balance.changed"]))?.hasPrefix("muted: 'balance.changed' is not an event type") == true)
        #expect(Self.validationMessage(NotificationPreferences(largeTransactionHistoryDays: 3))?.hasPrefix("large_transaction_history_days:") == true)
    }

    static func validationMessage(_ preferences: NotificationPreferences) -> String? {
        do throws(DomainError) {
            try preferences.validate()
            return nil
        } catch {
            return error.description
        }
    }

    @Test("endpoint filters match exact types, prefixes and everything; unknown ones are refused")
    func eventFilters() throws {
        #expect(EventType.matches("*", "transaction.large"))
        #expect(EventType.matches("connection.*", "connection.expiring"))
        #expect(!EventType.matches("connection.*", "accounts.added"))
        #expect(!EventType.matches("transaction.large", "transactions.updated"))
        try EventType.validate(filters: ["connection.*", "transaction.large", "webhook_endpoint.disabled"])
        #expect(throws: DomainError.self) { try EventType.validate(filters: []) }
        #expect(throws: DomainError.self) { try EventType.validate(filters: ["payments.*"]) }
        #expect(throws: DomainError.self) { try EventType.validate(filters: ["transaction.larg"]) }
    }
}
