public import BankSyncCore
public import struct Foundation.Date

/// The limits every provider request passes through before it leaves the process: the
/// provider's request rate, and for bank calls counted per account (GoCardless: 4 a day per
/// account and scope) the account's quota.
///
/// Providers limit per client, not per process, so the engine's implementation keeps both in
/// the database where every worker sees them (`DatabaseProviderLimits`).
public protocol ProviderLimits: Sendable {
    /// Waits for one request's turn, or throws ``ProviderError`` `.rateLimited(retryAt:)` when
    /// the wait would be too long to hold a worker for.
    func admit(_ provider: Provider) async throws
    /// Throws ``ProviderError`` `.quotaExhausted(resetAt:)` without calling when `scope` of
    /// `accountID` is known to be spent until a later reset.
    func admitScoped(_ provider: Provider, accountID: String, scope: String) async throws
    /// Records what the provider said about a quota (from its response headers).
    func record(_ reading: QuotaReading) async
}

/// A provider's statement of one account's quota for one scope.
public struct QuotaReading: Sendable, Equatable {
    public let provider: Provider
    public let accountID: String
    /// `details`, `balances` or `transactions`.
    public let scope: String
    public let limit: Int
    public let remaining: Int
    public let resetAt: Date

    public init(provider: Provider, accountID: String, scope: String, limit: Int, remaining: Int, resetAt: Date) {
        self.provider = provider
        self.accountID = accountID
        self.scope = scope
        self.limit = limit
        self.remaining = remaining
        self.resetAt = resetAt
    }
}
