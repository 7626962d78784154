public import BankSyncCore
public import struct Foundation.Date

/// Every provider failure, classified by what the engine should do about it. The provider's
/// own code and request id come along for logs; never a token or an account number.
public struct ProviderError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The user must log in again (Plaid ITEM_LOGIN_REQUIRED, Teller enrollment.disconnected.*).
        case reauthRequired
        /// The token is gone: removed, revoked, or never valid here.
        case invalidToken
        /// Slow down; `retryAt` is the provider's reset time when it says one.
        case rateLimited(retryAt: Date?)
        /// A bank quota is spent (GoCardless per-account per-scope daily limit) until `resetAt`.
        case quotaExhausted(resetAt: Date?)
        /// Bank or provider down, 5xx, timeout, connection refused, a broken response body: retry with backoff.
        case transient
        /// The thing asked for does not exist (or no longer: a closed account).
        case notFound
        /// The consent ran out (GoCardless end-user agreement expired).
        case consentExpired
        /// Our request or configuration is wrong (bad API keys, invalid field): retrying will not help.
        case permanent
    }

    public let kind: Kind
    public let provider: Provider
    /// The provider's error code (`ITEM_LOGIN_REQUIRED`, `enrollment.disconnected.mfa_required`, `EUAExpiredError`…).
    public let code: String?
    public let message: String
    public let httpStatus: Int?
    public let requestID: String?

    public init(_ kind: Kind, provider: Provider, code: String? = nil, message: String, httpStatus: Int? = nil, requestID: String? = nil) {
        self.kind = kind
        self.provider = provider
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
        self.requestID = requestID
    }

    public var description: String {
        var text = "\(provider.rawValue) \(kind)"
        if let httpStatus { text += " (HTTP \(httpStatus)" + (code.map { ", \($0)" } ?? "") + ")" } else if let code { text += " (\(code))" }
        text += ": \(message)"
        if let requestID { text += " [request \(requestID)]" }
        return text
    }

    /// Whether trying again later can succeed without the user doing anything.
    public var isRetryable: Bool {
        switch kind {
        case .rateLimited, .quotaExhausted, .transient: true
        default: false
        }
    }
}
