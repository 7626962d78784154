public import BankSyncCore
public import struct Foundation.Date

/// What BankSync keeps to talk to a provider about one connection. `secret` is encrypted at
/// rest by the store; `externalID` is not secret.
public struct ConnectionCredential: Sendable, Hashable {
    /// Plaid access token, Teller access token, GoCardless requisition id.
    public var secret: String
    /// Plaid item id, Teller enrollment id, GoCardless requisition id.
    public var externalID: String

    public init(secret: String, externalID: String) {
        self.secret = secret
        self.externalID = externalID
    }
}

/// An account as a provider reports it, in BankSync's terms.
public struct ProviderAccount: Sendable, Hashable {
    public var providerAccountID: String
    public var name: String
    public var officialName: String?
    public var mask: String?
    public var type: AccountType
    public var subtype: String?
    public var currency: Currency
    /// False when the provider says the account is closed.
    public var isOpen: Bool

    public init(
        providerAccountID: String, name: String, officialName: String? = nil, mask: String? = nil, type: AccountType, subtype: String? = nil,
        currency: Currency, isOpen: Bool = true
    ) {
        self.providerAccountID = providerAccountID
        self.name = name
        self.officialName = officialName
        self.mask = mask
        self.type = type
        self.subtype = subtype
        self.currency = currency
        self.isOpen = isOpen
    }
}

/// Balances in BankSync's convention: from the holder's view, so money owed on a card or loan
/// is negative.
public struct ProviderBalance: Sendable, Hashable {
    public var providerAccountID: String
    public var current: Money
    public var available: Money?
    public var limit: Money?

    public init(providerAccountID: String, current: Money, available: Money? = nil, limit: Money? = nil) {
        self.providerAccountID = providerAccountID
        self.current = current
        self.available = available
        self.limit = limit
    }
}

/// A transaction as a provider reports it, already in BankSync's sign convention
/// (negative = money leaves the account).
public struct ProviderTransaction: Sendable, Hashable {
    /// The provider's id; nil where the provider gives none (GoCardless pending rows, some
    /// banks' booked rows): the pipeline fingerprints those.
    public var providerTransactionID: String?
    public var providerAccountID: String
    public var amount: Money
    public var date: CalendarDate
    public var authorizedDate: CalendarDate?
    public var isPending: Bool
    public var description: String
    public var merchantName: String?
    public var counterparty: String?
    /// The provider's category in its own vocabulary (Plaid `PRIMARY/DETAILED`, Teller's word).
    public var providerCategory: String?
    /// On a posted row: the id of the pending row it replaces, when the provider links them.
    public var pendingTransactionID: String?

    public init(
        providerTransactionID: String?, providerAccountID: String, amount: Money, date: CalendarDate, authorizedDate: CalendarDate? = nil,
        isPending: Bool, description: String, merchantName: String? = nil, counterparty: String? = nil, providerCategory: String? = nil,
        pendingTransactionID: String? = nil
    ) {
        self.providerTransactionID = providerTransactionID
        self.providerAccountID = providerAccountID
        self.amount = amount
        self.date = date
        self.authorizedDate = authorizedDate
        self.isPending = isPending
        self.description = description
        self.merchantName = merchantName
        self.counterparty = counterparty
        self.providerCategory = providerCategory
        self.pendingTransactionID = pendingTransactionID
    }
}

/// The changes since a cursor (Plaid): apply all of it, with `nextCursor`, in one database
/// transaction. Pages were already walked (and restarted on mutation) by the client.
public struct TransactionDelta: Sendable {
    public var added: [ProviderTransaction]
    public var modified: [ProviderTransaction]
    /// (provider account id, provider transaction id).
    public var removed: [(accountID: String, transactionID: String)]
    public var nextCursor: String
    /// Pages fetched, and how many times pagination restarted because the data moved.
    public var pages: Int
    public var restarts: Int
    /// Rows that could not be read: the rest of the page is still good.
    public var rejected: [RejectedRow] = []
}

/// A provider row the client could not turn into a ``ProviderTransaction`` (an unknown
/// currency, an amount that is not a decimal, a missing date), kept with the reason so the
/// sync can skip it, say so in its SyncRun, and not lose the rest of the answer.
public struct RejectedRow: Sendable, Hashable, CustomStringConvertible {
    /// The provider's id for the row, when it could be read.
    public var providerTransactionID: String?
    public var providerAccountID: String?
    /// Which field was wrong and how, without the row's amount or description.
    public var reason: String

    public init(providerTransactionID: String?, providerAccountID: String?, reason: String) {
        self.providerTransactionID = providerTransactionID
        self.providerAccountID = providerAccountID
        self.reason = reason
    }

    public var description: String { "\(providerTransactionID ?? "a row without an id"): \(reason)" }
}

/// Every transaction of one account in a date window (Teller, GoCardless). Rows of the
/// account in the window that are not here no longer exist at the provider.
public struct TransactionWindow: Sendable {
    public var providerAccountID: String
    public var from: CalendarDate
    public var to: CalendarDate
    public var transactions: [ProviderTransaction]
    /// Rows of the window that could not be read. While there are any, what is missing from
    /// `transactions` may only be unreadable, not gone.
    public var rejected: [RejectedRow] = []
}

/// Where a connection stands according to its provider.
public enum ProviderConnectionHealth: Sendable, Equatable {
    case healthy
    case reauthRequired(reason: String)
    case revoked
    /// GoCardless: the agreement's access ends then (nil if it ended).
    case expiresAt(Date?)
}

/// Starting a link: what the app's front end needs.
public struct LinkSession: Sendable, Equatable {
    /// Plaid `link_token`; GoCardless requisition id; Teller: the nonce to pass to Connect.
    public var token: String
    /// GoCardless: the bank consent URL to send the user to.
    public var url: String?
    public var expiresAt: Date?
}
