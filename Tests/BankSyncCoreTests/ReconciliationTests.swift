import BankSyncCore
import Testing

@Suite("Reconciliation")
struct ReconciliationTests {
    static func day(_ text: String) -> CalendarDate { try! CalendarDate(parsing: text) }

    static func row(_ key: String, _ amount: Int64, _ date: String, pending: Bool = false, _ description: String = "CAFE CENTRAL", pendingKey: String? = nil)
        -> ReconcileRow
    {
        ReconcileRow(key: key, amountMinor: amount, date: day(date), isPending: pending, description: description, pendingKey: pendingKey)
    }

    @Test("two identical coffees on one day keep two keys; fetching the window again gives the same keys")
    func fingerprints() {
        let rows = [(Self.day("2026-03-01"), Int64(-450), "CARD 4431 CAFE CENTRAL"), (Self.day("2026-03-01"), -450, "card 4431  cafe central"),
                    (Self.day("2026-03-01"), -990, "STREAMING SERVICE")]
        let keys = Fingerprint.keys(rows.map { (date: $0.0, amountMinor: $0.1, description: $0.2) })
        #expect(Set(keys).count == 3)
        #expect(keys[0].hasSuffix(":0") && keys[1].hasSuffix(":1"))
        #expect(keys[0].dropLast(2) == keys[1].dropLast(2), "the same row text up to case and spacing")
        #expect(Fingerprint.keys(rows.map { (date: $0.0, amountMinor: $0.1, description: $0.2) }) == keys)
    }

    @Test("day arithmetic across months and leap years")
    func days() {
        #expect(Self.day("2026-03-01").daysSince(Self.day("2026-02-27")) == 2)
        #expect(Self.day("2024-03-01").daysSince(Self.day("2024-02-28")) == 2)
        #expect(Self.day("2026-01-01").daysSince(Self.day("2025-12-31")) == 1)
        #expect(Self.day("1970-01-01").daysSince(Self.day("1970-01-01")) == 0)
        #expect(Self.day("2024-02-28").adding(days: 1) == Self.day("2024-02-29"))
        #expect(Self.day("2026-03-01").adding(days: -1) == Self.day("2026-02-28"))
        #expect(Self.day("2025-12-31").adding(days: 400).daysSince(Self.day("2025-12-31")) == 400)
    }

    @Test("a pending charge is matched to its posted row: same amount, or a tip on the same merchant; never a stranger")
    func matcher() {
        let pending = [
            Self.row("p-coffee", -450, "2026-03-01", pending: true, "CAFE CENTRAL"),
            Self.row("p-dinner", -4000, "2026-03-01", pending: true, "TRATTORIA SOLE"),
            Self.row("p-books", -1999, "2026-03-01", pending: true, "BOOK SHOP"),
        ]
        let posted = [
            Self.row("b-coffee", -450, "2026-03-02", "CARD 4431 CAFE CENTRAL"),
            Self.row("b-dinner", -4700, "2026-03-03", "TRATTORIA SOLE BERLIN"),  // 17.5 % tip
            Self.row("b-other", -1999, "2026-03-20", "BOOK SHOP"),  // 19 days later: not it
            Self.row("b-grocer", -4700, "2026-03-02", "REWE MARKT"),  // same amount as the dinner's posting, other shop
        ]
        let matches = PendingMatcher.match(pending: pending, posted: posted)
        #expect(Set(matches.map { "\($0.pendingKey)>\($0.postedKey)" }) == ["p-coffee>b-coffee", "p-dinner>b-dinner"])
        #expect(matches.allSatisfy { $0.confidence >= PendingMatcher.threshold && $0.confidence <= 1 })
        let coffee = matches.first { $0.pendingKey == "p-coffee" }!
        let dinner = matches.first { $0.pendingKey == "p-dinner" }!
        #expect(coffee.confidence > dinner.confidence, "an exact amount is surer than a tip")
        // A refund (inflow) never matches an outflow, and a pending row cannot post before it happened.
        #expect(PendingMatcher.confidence(pending: pending[0], posted: Self.row("x", 450, "2026-03-02")) == nil)
        #expect(PendingMatcher.confidence(pending: pending[0], posted: Self.row("x", -450, "2026-02-28")) == nil)
    }

    @Test("two pending twins and two posted twins pair off one to one")
    func twins() {
        let pending = [Self.row("p1", -450, "2026-03-01", pending: true), Self.row("p2", -450, "2026-03-01", pending: true)]
        let posted = [Self.row("b1", -450, "2026-03-02"), Self.row("b2", -450, "2026-03-02")]
        let matches = PendingMatcher.match(pending: pending, posted: posted)
        #expect(matches.count == 2)
        #expect(Set(matches.map(\.pendingKey)) == ["p1", "p2"])
        #expect(Set(matches.map(\.postedKey)) == ["b1", "b2"])
    }

    @Test("a window plan inserts new rows, updates changed ones, removes vanished ones and settles pending rows")
    func windowPlan() {
        let stored = [
            Self.row("b-rent", -120000, "2026-03-01", "RENT"),
            Self.row("b-fixed", -999, "2026-03-01", "STREAMING"),
            Self.row("b-gone", -500, "2026-03-01", "REVERSED BY BANK"),
            Self.row("p-coffee", -450, "2026-03-01", pending: true, "CAFE CENTRAL"),
            Self.row("p-plaid", -800, "2026-03-01", pending: true, "SQ *BLUE BOTTLE"),
        ]
        let fetched = [
            Self.row("b-rent", -120000, "2026-03-01", "RENT"),
            Self.row("b-fixed", -999, "2026-03-01", "STREAMING *CORRECTED"),
            Self.row("b-coffee", -450, "2026-03-03", "CARD 4431 CAFE CENTRAL"),
            Self.row("b-plaid", -800, "2026-03-02", "SQ *BLUE BOTTLE", pendingKey: "p-plaid"),
            Self.row("p-new", -1200, "2026-03-03", pending: true, "BAKERY"),
        ]
        let plan = WindowPlan.plan(stored: stored, fetched: fetched)
        #expect(Set(plan.inserts.map(\.key)) == ["b-coffee", "b-plaid", "p-new"])
        #expect(plan.updates.map(\.key) == ["b-fixed"])
        #expect(Set(plan.removals) == ["b-gone", "p-coffee", "p-plaid"])
        #expect(Set(plan.settlements.map { "\($0.pendingKey)>\($0.postedKey)" }) == ["p-coffee>b-coffee", "p-plaid>b-plaid"])
        #expect(plan.settlements.first { $0.pendingKey == "p-plaid" }?.confidence == 1, "a provider link is certain")
        // Fetching the same window twice changes nothing.
        let again = WindowPlan.plan(stored: fetched, fetched: fetched)
        #expect(again.inserts.isEmpty && again.updates.isEmpty && again.removals.isEmpty && again.settlements.isEmpty)
    }
}
