import BankSyncCategorizer
import BankSyncCore
import Foundation
import Testing

@Suite("CategoryDecider: the order of sources and the rules' conditions")
struct CategoryDeciderTests {
    static let decider = CategoryDecider(model: try! Toy.train())
    static let now = Date(timeIntervalSince1970: 1_780_000_000)

    func transaction(_ description: String, merchant: String? = nil, amount: Int64 = -1_250, account: Identifier<Account> = "acct-1", provider: String? = nil)
        -> Transaction
    {
        Transaction(
            accountID: account, userID: "user-1", providerTransactionID: UUID().uuidString, status: .posted,
            amount: Money(minorUnits: amount, currency: try! Currency(code: "USD")), date: try! CalendarDate(parsing: "2026-05-01"),
            description: description, merchantName: merchant, providerCategory: provider, createdAt: Self.now)
    }

    func rule(_ name: String, priority: Int = 100, _ conditions: [RuleCondition], _ category: String) -> CategoryRule {
        CategoryRule(tenantID: "tenant-1", name: name, priority: priority, conditions: conditions, category: category, createdAt: Self.now)
    }

    @Test("user choice, then rules by priority, then memory, then the model, then the provider")
    func order() throws {
        let coffee = transaction("SQ *BLUE BOTTLE COFFEE 0412 OAKLAND CA", merchant: "Blue Bottle Coffee", provider: "dining")
        let none = try CategoryDecider.Rules([])
        #expect(Self.decider.decide(coffee, rules: none, memory: [:]).0?.source == .model)
        let memory = [try #require(CategoryDecider.merchantKey(coffee)): "GENERAL_SERVICES_EDUCATION"]
        #expect(Self.decider.decide(coffee, rules: none, memory: memory).0 == CategoryAssignment(category: "GENERAL_SERVICES_EDUCATION", confidence: 1, source: .memory))
        let rules = try CategoryDecider.Rules([
            rule("late", priority: 200, [.text(field: .merchant, match: .contains, value: "bottle")], "TRAVEL_FLIGHTS"),
            rule("early", priority: 10, [.text(field: .description, match: .regex, value: #"blue\s+bottle"#)], "ENTERTAINMENT_VIDEO_GAMES"),
        ])
        #expect(Self.decider.decide(coffee, rules: rules, memory: memory).0?.category == "ENTERTAINMENT_VIDEO_GAMES")
        var chosen = coffee
        chosen.category = CategoryAssignment(category: "MEDICAL_DENTAL_CARE", confidence: 1, source: .user)
        #expect(Self.decider.decide(chosen, rules: rules, memory: memory).0?.category == "MEDICAL_DENTAL_CARE")
        var unsure = Self.decider
        unsure.threshold = 1.01
        let (fallback, note) = unsure.decide(coffee, rules: none, memory: [:])
        #expect(fallback == CategoryAssignment(category: "FOOD_AND_DRINK_RESTAURANT", confidence: CategoryDecider.providerConfidence, source: .provider))
        #expect(note.hasPrefix("provider category dining"))
        let (nothing, why) = unsure.decide(transaction("XYZZY 99", provider: "PMNT-ICDT-STDO"), rules: none, memory: [:])
        #expect(nothing == nil && why.contains("provider category \"PMNT-ICDT-STDO\" is not in the taxonomy"))
    }

    @Test("conditions: amount range, direction, account, equals; all must hold")
    func conditions() throws {
        let rules = try CategoryDecider.Rules([
            rule("big rent", [.amount(minMinor: nil, maxMinor: -100_000), .direction(.outflow), .account("acct-2")], "RENT_AND_UTILITIES_RENT"),
            rule("exact", [.text(field: .merchant, match: .equals, value: "acme corp")], "INCOME_WAGES"),
        ])
        let none: [String: String] = [:]
        #expect(Self.decider.decide(transaction("TRANSFER", amount: -150_000, account: "acct-2"), rules: rules, memory: none).0?.source == .rule)
        #expect(Self.decider.decide(transaction("TRANSFER", amount: -150_000, account: "acct-1"), rules: rules, memory: none).0?.source != .rule)
        #expect(Self.decider.decide(transaction("TRANSFER", amount: -99_999, account: "acct-2"), rules: rules, memory: none).0?.source != .rule)
        #expect(Self.decider.decide(transaction("PAY", merchant: "ACME Corp", amount: 500_000), rules: rules, memory: none).0?.category == "INCOME_WAGES")
        #expect(Self.decider.decide(transaction("PAY", merchant: "ACME Corporation", amount: 500_000), rules: rules, memory: none).0?.source != .rule)
    }

    @Test("amount bounds are amounts of the row's currency whatever its exponent: 50.00 matches ¥50, $50.00 and 50.000 BHD, not ¥49 or 49.999 BHD")
    func amountBoundsAcrossExponents() throws {
        func money(_ minor: Int64, _ code: String) -> Money { Money(minorUnits: minor, currency: try! Currency(code: code)) }
        // Rule: 50.00 ≤ amount ≤ 1,000.00 (stored as hundredths).
        let (low, high): (Int64?, Int64?) = (5_000, 100_000)
        let cases: [(Money, Bool)] = [
            (money(5_000, "USD"), true), (money(4_999, "USD"), false), (money(100_000, "USD"), true), (money(100_001, "USD"), false),
            (money(50, "JPY"), true), (money(49, "JPY"), false), (money(1_000, "JPY"), true), (money(1_001, "JPY"), false),
            (money(50_000, "BHD"), true), (money(49_999, "BHD"), false), (money(1_000_000, "BHD"), true), (money(1_000_001, "BHD"), false),
            (money(Int64.max, "JPY"), false), (money(Int64.min, "BHD"), false),
        ]
        for (amount, expected) in cases {
            #expect(RuleCondition.amount(amount, within: low, high) == expected, "\(amount.minorUnits) \(amount.currency.code)")
        }
        #expect(RuleCondition.amount(money(Int64.min, "JPY"), within: nil, -5_000))
        // Through the decider: a ¥1,000 purchase is "over 50", though 1,000 minor units are less than 5,000.
        let rules = try CategoryDecider.Rules([rule("big", [.amount(minMinor: nil, maxMinor: -5_000)], "GENERAL_MERCHANDISE")])
        var yen = transaction("SHOP")
        yen.amount = money(-1_000, "JPY")
        #expect(Self.decider.decide(yen, rules: rules, memory: [:]).0?.source == .rule)
        yen.amount = money(-49, "JPY")
        #expect(Self.decider.decide(yen, rules: rules, memory: [:]).0?.source != .rule)
    }

    @Test("a rule with a bad regular expression or a category outside the taxonomy is refused, naming the rule")
    func badRules() {
        #expect(throws: CategorizerError.invalidData("rule \"r\": \"([\" is not a valid regular expression")) {
            try CategoryDecider.Rules([rule("r", [.text(field: .description, match: .regex, value: "([")], "TRAVEL")])
        }
        #expect(throws: CategorizerError.invalidData("rule \"r\": COFFEE is not a category of the taxonomy")) {
            try CategoryDecider.Rules([rule("r", [.direction(.inflow)], "COFFEE")])
        }
    }

    @Test("merchant keys ignore case, spaces and punctuation; text with no letters has none")
    func merchantKeys() {
        #expect(CategoryDecider.merchantKey(transaction("x", merchant: "Trader Joe's")) == CategoryDecider.merchantKey(transaction("y", merchant: "TRADER JOES")))
        #expect(CategoryDecider.merchantKey(transaction("#### 0000 ----")) == nil)
    }
}
