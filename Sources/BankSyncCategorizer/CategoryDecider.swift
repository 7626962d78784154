public import BankSyncCore
import Foundation

/// Decides a transaction's category in BankSync's order, and records which source decided:
/// the user's own choice (never replaced) → the user's and tenant's rules (first match in
/// priority order) → the user's merchant memory (what they chose for this merchant before) →
/// the model, when its confidence clears the threshold → the provider's own category →
/// uncategorized, with the reason.
public struct CategoryDecider: Sendable {
    public let taxonomy: Taxonomy
    public let model: CategoryModel
    /// The model's answer is used at or above this confidence; below it abstains.
    public var threshold: Double

    /// The confidence recorded for a provider's own category (the providers do not give one
    /// BankSync can compare; Plaid's is a coarse level).
    public static let providerConfidence = 0.6

    public init(taxonomy: Taxonomy = .standard, model: CategoryModel, threshold: Double = 0.5) {
        self.taxonomy = taxonomy
        self.model = model
        self.threshold = threshold
    }

    /// A user's rules compiled for matching (regular expressions built once per batch).
    public struct Rules: Sendable {
        let rules: [(CategoryRule, [CompiledCondition])]

        /// - Throws: ``CategorizerError/invalidData(_:)`` naming the rule whose regular
        ///   expression does not compile or whose category is not in the taxonomy.
        public init(_ rules: [CategoryRule], taxonomy: Taxonomy = .standard) throws(CategorizerError) {
            var compiled: [(CategoryRule, [CompiledCondition])] = []
            // Tried by priority; at equal priority a user's own rule before the tenant's, then the older.
            let ordered = rules.enumerated().sorted { a, b in
                (a.element.priority, a.element.userID == nil ? 1 : 0, a.offset) < (b.element.priority, b.element.userID == nil ? 1 : 0, b.offset)
            }.map(\.element)
            for rule in ordered where rule.enabled {
                guard taxonomy.contains(rule.category) else {
                    throw .invalidData("rule \"\(rule.name)\": \(rule.category) is not a category of the taxonomy")
                }
                var conditions: [CompiledCondition] = []
                for condition in rule.conditions { conditions.append(try CompiledCondition(condition, rule: rule.name)) }
                compiled.append((rule, conditions))
            }
            self.rules = compiled
        }

        /// The first rule whose every condition holds.
        func first(matching transaction: Transaction) -> CategoryRule? {
            rules.first { _, conditions in conditions.allSatisfy { $0.holds(for: transaction) } }?.0
        }
    }

    struct CompiledCondition: @unchecked Sendable {  // NSRegularExpression is immutable and thread-safe
        let condition: RuleCondition
        let regex: NSRegularExpression?

        init(_ condition: RuleCondition, rule: String) throws(CategorizerError) {
            self.condition = condition
            if case .text(_, .regex, let pattern) = condition {
                do { regex = try NSRegularExpression(pattern: pattern, options: [.caseInsensitive]) } catch {
                    throw .invalidData("rule \"\(rule)\": \"\(pattern)\" is not a valid regular expression")
                }
            } else {
                regex = nil
            }
        }

        func holds(for transaction: Transaction) -> Bool {
            switch condition {
            case .text(let field, let match, let value):
                let text: String? =
                    switch field {
                    case .merchant: transaction.merchantName
                    case .description: transaction.description
                    case .providerCategory: transaction.providerCategory
                    }
                guard let text else { return false }
                switch match {
                case .equals: return text.caseInsensitiveCompare(value) == .orderedSame
                case .contains: return text.range(of: value, options: .caseInsensitive) != nil
                case .regex: return regex?.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
                }
            case .amount(let low, let high):
                return RuleCondition.amount(transaction.amount, within: low, high)
            case .direction(let direction):
                return direction == .outflow ? transaction.amount.minorUnits < 0 : transaction.amount.minorUnits > 0
            case .account(let id):
                return transaction.accountID == id
            }
        }
    }

    /// The key a user's merchant memory is kept under: the merchant name, else the cleaned
    /// description, lower-cased letters and digits only; nil when nothing is left.
    public static func merchantKey(_ transaction: Transaction) -> String? {
        let source = transaction.merchantName ?? MerchantName.clean(transaction.description) ?? ""
        let key = String(source.lowercased().unicodeScalars.filter { $0.properties.isAlphabetic || ("0"..."9").contains($0) }.map(Character.init))
        return key.isEmpty ? nil : key
    }

    /// The category of `transaction`, or nil with the reason.
    public func decide(_ transaction: Transaction, rules: Rules, memory: [String: String]) -> (CategoryAssignment?, note: String) {
        if let chosen = transaction.category, chosen.source == .user { return (chosen, "chosen by the user") }
        if let rule = rules.first(matching: transaction) {
            return (CategoryAssignment(category: rule.category, confidence: 1, source: .rule), "rule \"\(rule.name)\"")
        }
        if let key = Self.merchantKey(transaction), let remembered = memory[key], taxonomy.contains(remembered) {
            return (CategoryAssignment(category: remembered, confidence: 1, source: .memory), "the user's choice for this merchant")
        }
        let prediction = model.predict(CategorizerInput(description: transaction.description, merchant: transaction.merchantName, amountMinor: transaction.amount.minorUnits))
        let confidence = String(format: "%.2f", prediction.confidence)
        if prediction.confidence >= threshold {
            return (CategoryAssignment(category: prediction.label, confidence: prediction.confidence, source: .model), "model \(confidence)")
        }
        if let provided = transaction.providerCategory, let code = taxonomy.code(forProviderCategory: provided) {
            return (
                CategoryAssignment(category: code, confidence: Self.providerConfidence, source: .provider),
                "provider category \(provided); model \(confidence) under \(threshold)"
            )
        }
        let provider = transaction.providerCategory.map { "provider category \"\($0)\" is not in the taxonomy" } ?? "no provider category"
        return (nil, "model \(confidence) under \(threshold) (best guess \(prediction.label)); \(provider)")
    }
}
