public import struct Foundation.Date

/// Who decided a transaction's category.
public enum CategorySource: String, Sendable, Codable, CaseIterable, Hashable {
    /// The user set it by hand; never overwritten by automation.
    case user
    /// A user or tenant rule matched.
    case rule
    /// The user's earlier choice for the same merchant (learned from a correction).
    case memory
    /// The trained model, with its confidence.
    case model
    /// The provider's own category, used when nothing better is known.
    case provider
}

/// A category with how sure BankSync is of it.
public struct CategoryAssignment: Hashable, Sendable, Codable {
    /// A category id of the BankSync taxonomy (Plaid PFC detailed names, e.g. `FOOD_AND_DRINK_COFFEE`).
    public var category: String
    /// 0...1; 1 for user choices and rules.
    public var confidence: Double
    public var source: CategorySource

    public init(category: String, confidence: Double, source: CategorySource) {
        self.category = category
        self.confidence = min(1, max(0, confidence))
        self.source = source
    }
}

/// One movement of money on an account.
///
/// Unique by (``accountID``, ``providerTransactionID``). ``amount`` follows the sign convention
/// of ``Money``: negative is money leaving the account. ``date`` is the posting date (or the
/// pending date while pending); ``authorizedDate`` is when the card was used, if known.
/// A removed transaction keeps its row with ``removedAt`` set, so a later sync that sees the
/// id again cannot resurrect a row silently and user edits are not lost.
public struct Transaction: Hashable, Sendable, Codable {
    public var id: Identifier<Transaction>
    public var accountID: Identifier<Account>
    public var userID: Identifier<User>
    /// The provider's id, or a fingerprint where the provider has no stable id (GoCardless pending rows).
    public var providerTransactionID: String
    public private(set) var status: TransactionStatus
    public var amount: Money
    public var date: CalendarDate
    public var authorizedDate: CalendarDate?
    /// The bank's description as given (trimmed).
    public var description: String
    public var merchantName: String?
    /// The other party (creditor or debtor name) where the provider gives one.
    public var counterparty: String?
    /// The provider's category, as given (Plaid PFC detailed, Teller `details.category`).
    public var providerCategory: String?
    public var category: CategoryAssignment?
    /// For a posted row: the provider id of the pending row it replaced.
    public var pendingTransactionID: String?
    public var removedAt: Date?
    /// Set when normalization and reconciliation finished for the row.
    public var processedAt: Date?
    /// Set when the categorizer last decided about the row (also when it left it uncategorized).
    public var categorizedAt: Date?
    /// Why the row has the category it has, or none ("model 0.31 under 0.5; no provider
    /// category"): written by the categorizer only.
    public var categoryNote: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Identifier<Transaction> = .generate(), accountID: Identifier<Account>, userID: Identifier<User>,
        providerTransactionID: String, status: TransactionStatus, amount: Money, date: CalendarDate,
        authorizedDate: CalendarDate? = nil, description: String, merchantName: String? = nil,
        counterparty: String? = nil, providerCategory: String? = nil, category: CategoryAssignment? = nil,
        pendingTransactionID: String? = nil, removedAt: Date? = nil, processedAt: Date? = nil,
        categorizedAt: Date? = nil, categoryNote: String? = nil, createdAt: Date, updatedAt: Date? = nil
    ) {
        self.id = id
        self.accountID = accountID
        self.userID = userID
        self.providerTransactionID = providerTransactionID
        self.status = status
        self.amount = amount
        self.date = date
        self.authorizedDate = authorizedDate
        self.description = description
        self.merchantName = merchantName
        self.counterparty = counterparty
        self.providerCategory = providerCategory
        self.category = category
        self.pendingTransactionID = pendingTransactionID
        self.removedAt = removedAt
        self.processedAt = processedAt
        self.categorizedAt = categorizedAt
        self.categoryNote = categoryNote
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }

    /// Moves the transaction to `next` (`pending → posted`).
    /// - Throws: ``DomainError/invalidTransition(machine:from:to:)`` for any other move.
    public mutating func setStatus(_ next: TransactionStatus) throws(DomainError) {
        status = try status.transition(to: next)
    }

    /// Whether the transaction is still live (not removed by the bank).
    public var isActive: Bool { removedAt == nil }
}
