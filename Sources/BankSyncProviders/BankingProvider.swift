public import BankSyncCore
import Foundation

/// How a provider hands out transactions.
public enum TransactionFetchMode: Sendable, Equatable {
    /// A change feed from a stored cursor (Plaid `/transactions/sync`).
    case cursor
    /// Date windows per account, re-fetched with an overlap (Teller, GoCardless).
    case window
}

/// What starting a link needs, per provider.
public struct LinkRequest: Sendable, Equatable {
    /// The application's id for the user (Plaid `client_user_id`, GoCardless `reference` prefix).
    public var userID: String
    /// The bank (GoCardless institution id; optional elsewhere).
    public var institutionID: String?
    /// Where the bank sends the user back (GoCardless).
    public var redirectURL: String?
    /// Update / reconnect mode: the connection's current credential (Plaid update mode, Teller
    /// reconnect of an enrollment, a fresh GoCardless requisition for the same bank).
    public var existing: ConnectionCredential?
    /// Days of history to ask consent for (GoCardless agreement, Plaid `days_requested`).
    public var historyDays: Int

    public init(userID: String, institutionID: String? = nil, redirectURL: String? = nil, existing: ConnectionCredential? = nil, historyDays: Int = 90) {
        self.userID = userID
        self.institutionID = institutionID
        self.redirectURL = redirectURL
        self.existing = existing
        self.historyDays = historyDays
    }
}

/// What the app's front end brings back from a finished link.
public enum LinkCompletion: Sendable, Equatable {
    /// Plaid Link's `public_token`.
    case publicToken(String)
    /// Teller Connect's enrollment: its access token and enrollment id.
    case enrollment(accessToken: String, enrollmentID: String)
    /// A GoCardless requisition the user has consented to.
    case requisition(id: String)
}

/// One aggregator, as the sync engine uses it. Plaid, Teller and GoCardless conform; the engine
/// holds them by ``Provider`` and never asks which one it has except through ``fetchMode``.
public protocol BankingProvider: Sendable {
    var provider: Provider { get }
    var fetchMode: TransactionFetchMode { get }
    /// The most history, in days, the provider gives on the first sync.
    var historyLimitDays: Int { get }

    /// Starts a link (new or update mode).
    func createLink(_ request: LinkRequest) async throws -> LinkSession
    /// Turns a finished link into the connection's credential.
    /// - Throws: ``ProviderError`` `.permanent` when `completion` belongs to another provider.
    func completeLink(_ completion: LinkCompletion) async throws -> ConnectionCredential
    /// The accounts behind the credential.
    func accounts(_ credential: ConnectionCredential) async throws -> [ProviderAccount]
    /// Balances of `accounts`, in BankSync's sign.
    func balances(_ credential: ConnectionCredential, accounts: [Account]) async throws -> [ProviderBalance]
    /// ``TransactionFetchMode/cursor`` providers: every change since `cursor`.
    func transactionChanges(_ credential: ConnectionCredential, since cursor: String?) async throws -> TransactionDelta
    /// ``TransactionFetchMode/window`` providers: one account's rows dated `from…to`.
    func transactions(_ credential: ConnectionCredential, account: Account, from: CalendarDate, to: CalendarDate) async throws -> TransactionWindow
    /// Where the connection stands at the provider.
    func health(_ credential: ConnectionCredential) async throws -> ProviderConnectionHealth
    /// Asks the provider to pull fresh data from the bank where it can (Plaid); false where there
    /// is no such call and a plain sync is the refresh.
    func refresh(_ credential: ConnectionCredential) async throws -> Bool
    /// Ends the connection at the provider.
    func remove(_ credential: ConnectionCredential) async throws
}

extension BankingProvider {
    func wrongCompletion(_ completion: LinkCompletion) -> ProviderError {
        ProviderError(.permanent, provider: provider, code: "wrong_link_kind", message: "a \(provider.rawValue) link cannot be completed with \(completion)")
    }

    func unsupported(_ what: String) -> ProviderError {
        ProviderError(.permanent, provider: provider, code: "unsupported", message: "\(provider.rawValue) does not offer \(what)")
    }
}

extension PlaidClient: BankingProvider {
    public var provider: Provider { .plaid }
    public var fetchMode: TransactionFetchMode { .cursor }
    /// Plaid gives up to 730 days when `days_requested` asks for them.
    public var historyLimitDays: Int { 730 }

    public func createLink(_ request: LinkRequest) async throws -> LinkSession {
        try await createLinkToken(userID: request.userID, accessToken: request.existing?.secret)
    }

    public func completeLink(_ completion: LinkCompletion) async throws -> ConnectionCredential {
        guard case .publicToken(let token) = completion else { throw wrongCompletion(completion) }
        return try await exchange(publicToken: token)
    }

    public func balances(_ credential: ConnectionCredential, accounts: [Account]) async throws -> [ProviderBalance] {
        try await balances(credential, live: false)
    }

    public func transactionChanges(_ credential: ConnectionCredential, since cursor: String?) async throws -> TransactionDelta {
        try await transactionChanges(credential, since: cursor, pageSize: 500, maxRestarts: 3)
    }

    public func transactions(_ credential: ConnectionCredential, account: Account, from: CalendarDate, to: CalendarDate) async throws -> TransactionWindow {
        throw unsupported("date-window transactions (it syncs by cursor)")
    }

    public func refresh(_ credential: ConnectionCredential) async throws -> Bool {
        try await refreshTransactions(credential)
        return true
    }
}

extension TellerClient: BankingProvider {
    public var provider: Provider { .teller }
    public var fetchMode: TransactionFetchMode { .window }
    /// Teller returns what the bank shows; in practice about two years.
    public var historyLimitDays: Int { 730 }

    /// Teller Connect runs in the browser with the application id; the server's part is a
    /// nonce to bind the enrollment to this request, and for reconnect the enrollment id.
    public func createLink(_ request: LinkRequest) async throws -> LinkSession {
        LinkSession(token: TimeOrderedID.secret(prefix: "tln_"), url: request.existing.map { "teller-connect:enrollment=\($0.externalID)" }, expiresAt: nil)
    }

    /// Accepts Connect's enrollment after checking its token works.
    public func completeLink(_ completion: LinkCompletion) async throws -> ConnectionCredential {
        guard case .enrollment(let token, let enrollmentID) = completion else { throw wrongCompletion(completion) }
        let credential = ConnectionCredential(secret: token, externalID: enrollmentID)
        _ = try await accounts(credential)
        return credential
    }

    public func balances(_ credential: ConnectionCredential, accounts: [Account]) async throws -> [ProviderBalance] {
        var balances: [ProviderBalance] = []
        for account in accounts where account.status != .closed {
            balances.append(try await balance(credential, account: ProviderAccount(account)))
        }
        return balances
    }

    public func transactionChanges(_ credential: ConnectionCredential, since cursor: String?) async throws -> TransactionDelta {
        throw unsupported("a transaction cursor (it syncs by date window)")
    }

    public func transactions(_ credential: ConnectionCredential, account: Account, from: CalendarDate, to: CalendarDate) async throws -> TransactionWindow {
        try await transactions(credential, account: ProviderAccount(account), from: from, to: to, pageSize: 250)
    }

    public func refresh(_ credential: ConnectionCredential) async throws -> Bool { false }
}

extension GoCardlessClient: BankingProvider {
    public var provider: Provider { .gocardless }
    public var fetchMode: TransactionFetchMode { .window }
    /// Most banks give 730 days; some only 90 (the agreement's `max_historical_days` caps it).
    public var historyLimitDays: Int { 730 }

    public func createLink(_ request: LinkRequest) async throws -> LinkSession {
        guard let institution = request.institutionID else {
            throw ProviderError(.permanent, provider: .gocardless, code: "institution_required", message: "a GoCardless link needs an institution id")
        }
        return try await startLink(
            institutionID: institution, redirect: request.redirectURL ?? "http://localhost/", reference: "\(request.userID)-\(TimeOrderedID.make())",
            maxHistoricalDays: min(max(request.historyDays, 1), historyLimitDays))
    }

    public func completeLink(_ completion: LinkCompletion) async throws -> ConnectionCredential {
        guard case .requisition(let id) = completion else { throw wrongCompletion(completion) }
        return try await completeLink(requisitionID: id)
    }

    public func balances(_ credential: ConnectionCredential, accounts: [Account]) async throws -> [ProviderBalance] {
        var balances: [ProviderBalance] = []
        for account in accounts where account.status != .closed {
            balances.append(try await balance(accountID: account.providerAccountID))
        }
        return balances
    }

    public func transactionChanges(_ credential: ConnectionCredential, since cursor: String?) async throws -> TransactionDelta {
        throw unsupported("a transaction cursor (it syncs by date window)")
    }

    public func transactions(_ credential: ConnectionCredential, account: Account, from: CalendarDate, to: CalendarDate) async throws -> TransactionWindow {
        try await transactions(accountID: account.providerAccountID, from: from, to: to)
    }

    public func refresh(_ credential: ConnectionCredential) async throws -> Bool { false }
}

extension ProviderAccount {
    /// The provider's view of a stored account (what Teller needs to read its sign).
    init(_ account: Account) {
        self.init(
            providerAccountID: account.providerAccountID, name: account.name, officialName: account.officialName, mask: account.mask, type: account.type,
            subtype: account.subtype, currency: account.currency, isOpen: account.status != .closed)
    }
}
