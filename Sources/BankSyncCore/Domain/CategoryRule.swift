public import struct Foundation.Date

/// A user's or a tenant's rule: when every condition holds, the transaction gets `category`.
/// Rules are tried in `priority` order (lower first; a user's own rules before the tenant's at
/// equal priority); the first that matches decides.
public struct CategoryRule: Hashable, Sendable, Codable {
    public var id: Identifier<CategoryRule>
    public var tenantID: Identifier<Tenant>
    /// Nil: the rule applies to every user of the tenant.
    public var userID: Identifier<User>?
    public var name: String
    public var priority: Int
    public var conditions: [RuleCondition]
    /// A code of the taxonomy.
    public var category: String
    public var enabled: Bool
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Identifier<CategoryRule> = .generate(), tenantID: Identifier<Tenant>, userID: Identifier<User>? = nil, name: String, priority: Int = 100,
        conditions: [RuleCondition], category: String, enabled: Bool = true, createdAt: Date, updatedAt: Date? = nil
    ) {
        self.id = id
        self.tenantID = tenantID
        self.userID = userID
        self.name = name
        self.priority = priority
        self.conditions = conditions
        self.category = category
        self.enabled = enabled
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }
}

/// One test a rule makes of a transaction.
public enum RuleCondition: Hashable, Sendable, Codable {
    /// The merchant name (cleaned) or the description, compared case-insensitively.
    case text(field: TextField, match: TextMatch, value: String)
    /// The amount, BankSync's sign; either bound may be open (inclusive). The bounds are
    /// hundredths of the row's currency unit whatever that currency's exponent ("50.00" is
    /// 5000, and matches ¥50 as well as $50.00 or 50.000 BHD); ``matches(amount:)`` compares
    /// at a common scale.
    case amount(minMinor: Int64?, maxMinor: Int64?)
    /// Money out (negative) or in (positive).
    case direction(Direction)
    case account(Identifier<Account>)

    public enum TextField: String, Hashable, Sendable, Codable { case merchant, description, providerCategory = "provider_category" }
    public enum TextMatch: String, Hashable, Sendable, Codable { case equals, contains, regex }
    public enum Direction: String, Hashable, Sendable, Codable { case outflow, inflow }
}

extension RuleCondition {
    /// Whether `amount` lies within an amount condition's bounds (hundredths of its currency's
    /// unit), compared exactly at the finer of the two scales.
    public static func amount(_ amount: Money, within low: Int64?, _ high: Int64?) -> Bool {
        // value × 10^(scale − exponent) against bound × 10^(scale − 2), in 128 bits.
        let exponent = amount.currency.exponent
        let scale = Swift.max(exponent, 2)
        func power(_ n: Int) -> Int128 { (0..<n).reduce(1) { result, _ in result * 10 } }
        let value = Int128(amount.minorUnits) * power(scale - exponent)
        let boundFactor = power(scale - 2)
        if let low, value < Int128(low) * boundFactor { return false }
        if let high, value > Int128(high) * boundFactor { return false }
        return true
    }
}
