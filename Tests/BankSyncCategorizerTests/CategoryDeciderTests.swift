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
