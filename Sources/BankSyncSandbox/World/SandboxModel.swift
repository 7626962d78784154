import BankSyncCore

/// The three aggregators the sandbox imitates.
public enum SandboxProvider: String, Sendable, CaseIterable, Codable {
    case plaid, teller, gocardless
}

/// A calendar day as days since 1970-01-01 (UTC), so the sandbox can add days and compare
/// without a calendar object.
public struct SandboxDay: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let number: Int

    public init(_ number: Int) { self.number = number }

    /// Parses `YYYY-MM-DD` (a real calendar date).
    public init?(parsing text: String) {
        guard let date = try? CalendarDate(parsing: text) else { return nil }
        number = date.dayNumber
    }

    /// (year, month, day).
    public var civil: (year: Int, month: Int, day: Int) {
        let date = CalendarDate(dayNumber: number)
        return (date.year, date.month, date.day)
    }

    /// `YYYY-MM-DD`.
    public var description: String {
        let (y, m, d) = civil
        return "\(y)-\(m < 10 ? "0" : "")\(m)-\(d < 10 ? "0" : "")\(d)"
    }

    public var dayOfMonth: Int { civil.day }
    /// 0 = Monday … 6 = Sunday.
    public var weekday: Int { ((number % 7) + 7 + 3) % 7 }
    public var isLastDayOfMonth: Bool { SandboxDay(number + 1).dayOfMonth == 1 }

    public func adding(days: Int) -> SandboxDay { SandboxDay(number + days) }
    public static func < (a: SandboxDay, b: SandboxDay) -> Bool { a.number < b.number }
}

/// What an account is, in the sandbox's own terms; each provider renders it its own way.
public enum SandboxAccountKind: String, Sendable, CaseIterable {
    case checking, savings, creditCard = "credit_card", loan

    var isDepository: Bool { self == .checking || self == .savings }
}

/// A bank as the sandbox lists it.
public struct SandboxInstitution: Sendable {
    public let id: String
    public let name: String
    public let provider: SandboxProvider
    /// ISO 3166 alpha-2.
    public let country: String
    public let currency: String
    public let bic: String?
}

/// One bank account.
public struct SandboxAccount: Sendable {
    /// The provider-facing id (Plaid `account_id`, Teller `acc_…`, GoCardless UUID).
    public let id: String
    public let connectionID: String
    public let provider: SandboxProvider
    public let kind: SandboxAccountKind
    public let name: String
    public let officialName: String
    public let mask: String
    public let currency: String
    /// Balance before the first transaction, in minor units, from the holder's view
    /// (negative = owed on cards and loans).
    public let openingBalance: Int64
    public let creditLimit: Int64?
    /// GoCardless accounts carry an IBAN.
    public let iban: String?
    public var closed = false
}

/// Why a transaction happened; decides its description style and its provider codes.
public enum SandboxTransactionKind: String, Sendable {
    case purchase, bill, salary, transferOut = "transfer_out", transferIn = "transfer_in", refund, interest,
        cardPayment = "card_payment", cardPaymentReceived = "card_payment_received", loanPayment = "loan_payment",
        loanPaymentReceived = "loan_payment_received", fee
}

/// One transaction row as a provider would report it. A pending row that posts is a
/// different row from its posted successor unless the provider keeps ids (Teller, usually).
public struct SandboxTransaction: Sendable {
    /// World-unique, in creation order.
    public let key: Int
    /// The provider-facing id (Plaid `transaction_id`, Teller `txn_…`, GoCardless
    /// `internalTransactionId` for booked rows; GoCardless pending rows show no id).
    public var id: String
    /// GoCardless `transactionId` (the bank's own id), booked rows only.
    public var bankTransactionID: String?
    public let accountID: String
    public let connectionID: String
    public let kind: SandboxTransactionKind
    /// Minor units, negative = money leaves the account.
    public var amount: Int64
    public let currency: String
    /// Pending rows: when it happened; posted rows: the posting date.
    public var date: SandboxDay
    public var authorizedDate: SandboxDay?
    public var pending: Bool
    /// On a posted row: the id of the pending row it replaced (Plaid `pending_transaction_id`).
    public var pendingTransactionID: String?
    public var merchant: Merchant?
    /// The counterparty when there is no merchant (employer, own account, landlord …).
    public var counterparty: String?
    /// Statement text in each provider's style.
    public var description: String
    public var removed = false
    /// Per-connection change sequence numbers: when the row appeared, last changed, was removed.
    public var createdSeq: Int
    public var modifiedSeq: Int
    public var removedSeq: Int?
    /// Pending rows: the day they post, and the amount they post at (tips).
    public var postsOn: SandboxDay?
    public var postedAmount: Int64?
}

/// The state of a connection as the bank and provider see it.
public enum SandboxConnectionState: Sendable, Equatable {
    case active
    /// Plaid ITEM_LOGIN_REQUIRED; Teller enrollment.disconnected.<reason>; GoCardless EUA expired.
    case loginRequired(reason: String)
    /// Removed by the app (`/item/remove`, `DELETE /accounts`, requisition deleted).
    case removed
}

/// A linked login at one institution: a Plaid Item, a Teller enrollment, a GoCardless requisition.
public struct SandboxConnection: Sendable {
    public let id: String
    public let provider: SandboxProvider
    public let userID: String
    public let institution: SandboxInstitution
    /// Plaid `access-sandbox-…`, Teller `test_token_…`; GoCardless has none (app-level JWT).
    public let accessToken: String
    public var state: SandboxConnectionState = .active
    public var webhookURL: String?
    /// The last change sequence number given out on this connection.
    public var seq = 0
    public let createdDay: SandboxDay
    /// Days of history generated before the link.
    public let historyDays: Int
    public var lastWebhookCode: String?
    public var lastWebhookAt: String?
}

/// One request the sandbox's inbox received: a stand-in for an application's webhook
/// endpoint, so the demo can show BankSync's outbound webhooks arriving.
public struct InboxMessage: Sendable {
    /// Sandbox clock, seconds since 1970.
    public let receivedAt: Int64
    /// Header names in lower case.
    public let headers: [(String, String)]
    public let body: [UInt8]

    public func header(_ name: String) -> String? { headers.first { $0.0 == name.lowercased() }?.1 }
}
