public import struct Foundation.Date

/// The broad kind of an account, as all three providers can express it.
public enum AccountType: String, Sendable, Codable, CaseIterable, Hashable {
    case depository
    case credit
    case loan
    case investment
    case other
}

/// One account at a bank, under one ``Connection``.
///
/// ``mask`` holds at most the last four digits of the account number: BankSync never stores a
/// full account number or IBAN.
public struct Account: Hashable, Sendable, Codable {
    public var id: Identifier<Account>
    public var connectionID: Identifier<Connection>
    public var userID: Identifier<User>
    /// The provider's id for the account, unique within the connection.
    public var providerAccountID: String
    public var name: String
    public var officialName: String?
    /// Last digits of the account number, for display (`"4412"`).
    public var mask: String?
    public var type: AccountType
    /// The provider's subtype (`checking`, `savings`, `credit_card`, `CACC` …), kept as given.
    public var subtype: String?
    public private(set) var status: AccountStatus
    public var currency: Currency
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Identifier<Account> = .generate(), connectionID: Identifier<Connection>, userID: Identifier<User>,
        providerAccountID: String, name: String, officialName: String? = nil, mask: String? = nil,
        type: AccountType, subtype: String? = nil, status: AccountStatus = .active, currency: Currency,
        createdAt: Date, updatedAt: Date? = nil
    ) {
        self.id = id
        self.connectionID = connectionID
        self.userID = userID
        self.providerAccountID = providerAccountID
        self.name = name
        self.officialName = officialName
        self.mask = mask
        self.type = type
        self.subtype = subtype
        self.status = status
        self.currency = currency
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }

    /// Moves the account to `next`.
    /// - Throws: ``DomainError/invalidTransition(machine:from:to:)`` if ``AccountStatus`` forbids it.
    public mutating func setStatus(_ next: AccountStatus) throws(DomainError) {
        status = try status.transition(to: next)
    }
}
