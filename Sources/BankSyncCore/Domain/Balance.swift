public import struct Foundation.Date

/// The latest known balances of an account.
///
/// Signs follow ``Money``: a credit card's ``current`` is negative when the holder owes money.
/// ``limit`` is the credit limit as a positive amount (nil for most depository accounts).
public struct Balance: Hashable, Sendable, Codable {
    public var accountID: Identifier<Account>
    public var current: Money
    public var available: Money?
    public var limit: Money?
    /// When the provider says the figures were true (or when they were fetched, if it does not say).
    public var asOf: Date

    public init(accountID: Identifier<Account>, current: Money, available: Money? = nil, limit: Money? = nil, asOf: Date) {
        self.accountID = accountID
        self.current = current
        self.available = available
        self.limit = limit
        self.asOf = asOf
    }
}

/// One day's closing balance of an account, kept for charts and change detection.
/// The last write of a day wins.
public struct BalanceSnapshot: Hashable, Sendable, Codable {
    public var accountID: Identifier<Account>
    public var date: CalendarDate
    public var current: Money
    public var available: Money?

    public init(accountID: Identifier<Account>, date: CalendarDate, current: Money, available: Money? = nil) {
        self.accountID = accountID
        self.date = date
        self.current = current
        self.available = available
    }
}
