/// When `sync.completed` is emitted.
public enum SyncCompletedMode: String, Codable, Sendable, CaseIterable {
    /// After a connection's first sync only (the default: apps show "your bank is ready").
    case initial
    /// After every sync that ran to the end, changes or not.
    case always
}

/// The thresholds and opt-outs the notification rules use for one user, resolved: BankSync's
/// defaults (the guide's), overridden field by field by the tenant's
/// ``NotificationPreferences``, then by the user's.
///
/// Money thresholds are whole units of the account's currency (100 means $100 on a USD account
/// and ¥100 on a JPY one), as the guide states them.
public struct NotificationSettings: Sendable, Equatable {
    /// `balance.changed_significantly`: a change of more than this percentage of the previous
    /// balance *and* more than ``balanceChangeMinimum`` units…
    public var balanceChangePercent: Double = 15
    public var balanceChangeMinimum: Int64 = 100
    /// …or of more than this many units, whatever the percentage.
    public var balanceChangeAbsolute: Int64 = 1_000
    /// `transaction.large`: any transaction (in or out) of more than this many units…
    public var largeTransactionAmount: Int64 = 5_000
    /// …or an outflow more than this multiple of the user's own
    /// ``largeTransactionPercentile``th percentile outflow on the account over the last
    /// ``largeTransactionHistoryDays`` days,
    public var largeTransactionMultiple: Double = 3
    public var largeTransactionPercentile: Double = 95
    public var largeTransactionHistoryDays = 90
    /// once the account has at least this many outflows in that period (fewer say too little
    /// about what is usual).
    public var largeTransactionMinimumHistory = 10
    /// Rows dated more than this many days before the sync that first saw them are history
    /// arriving late (a backfill), not news: no `transaction.large` for them.
    public var largeTransactionRecentDays = 10
    public var syncCompleted: SyncCompletedMode = .initial
    /// Event types the user (or the whole tenant) opted out of: they are not recorded at all.
    public var muted: Set<String> = []

    public init() {}

    /// The defaults with `tenant`'s overrides applied, then `user`'s. Opt-outs add up: a type
    /// the tenant muted stays muted for every user.
    public static func resolve(tenant: NotificationPreferences?, user: NotificationPreferences?) -> NotificationSettings {
        var settings = NotificationSettings()
        for preferences in [tenant, user].compactMap({ $0 }) { preferences.apply(to: &settings) }
        return settings
    }
}

/// Overrides of ``NotificationSettings`` for a tenant or one user: every field optional, nil
/// keeps the level below. Stored as JSON with snake_case keys (the API's shape).
public struct NotificationPreferences: Codable, Sendable, Equatable {
    public var balanceChangePercent: Double?
    public var balanceChangeMinimum: Int64?
    public var balanceChangeAbsolute: Int64?
    public var largeTransactionAmount: Int64?
    public var largeTransactionMultiple: Double?
    public var largeTransactionPercentile: Double?
    public var largeTransactionHistoryDays: Int?
    public var largeTransactionMinimumHistory: Int?
    public var largeTransactionRecentDays: Int?
    public var syncCompleted: SyncCompletedMode?
    public var muted: [String]?

    public init(
        balanceChangePercent: Double? = nil, balanceChangeMinimum: Int64? = nil, balanceChangeAbsolute: Int64? = nil,
        largeTransactionAmount: Int64? = nil, largeTransactionMultiple: Double? = nil, largeTransactionPercentile: Double? = nil,
        largeTransactionHistoryDays: Int? = nil, largeTransactionMinimumHistory: Int? = nil, largeTransactionRecentDays: Int? = nil,
        syncCompleted: SyncCompletedMode? = nil, muted: [String]? = nil
    ) {
        self.balanceChangePercent = balanceChangePercent
        self.balanceChangeMinimum = balanceChangeMinimum
        self.balanceChangeAbsolute = balanceChangeAbsolute
        self.largeTransactionAmount = largeTransactionAmount
        self.largeTransactionMultiple = largeTransactionMultiple
        self.largeTransactionPercentile = largeTransactionPercentile
        self.largeTransactionHistoryDays = largeTransactionHistoryDays
        self.largeTransactionMinimumHistory = largeTransactionMinimumHistory
        self.largeTransactionRecentDays = largeTransactionRecentDays
        self.syncCompleted = syncCompleted
        self.muted = muted
    }

    enum CodingKeys: String, CodingKey {
        case balanceChangePercent = "balance_change_percent"
        case balanceChangeMinimum = "balance_change_minimum"
        case balanceChangeAbsolute = "balance_change_absolute"
        case largeTransactionAmount = "large_transaction_amount"
        case largeTransactionMultiple = "large_transaction_multiple"
        case largeTransactionPercentile = "large_transaction_percentile"
        case largeTransactionHistoryDays = "large_transaction_history_days"
        case largeTransactionMinimumHistory = "large_transaction_minimum_history"
        case largeTransactionRecentDays = "large_transaction_recent_days"
        case syncCompleted = "sync_completed"
        case muted
    }

    /// Checks every field that is set.
    /// - Throws: ``DomainError/invalidField(field:message:)`` naming the first field (by its JSON
    ///   key) with a value it cannot have.
    public func validate() throws(DomainError) {
        func check(_ ok: Bool, _ key: CodingKeys, _ message: String) throws(DomainError) {
            if !ok { throw .invalidField(field: key.rawValue, message: message) }
        }
        if let v = balanceChangePercent { try check(v.isFinite && v >= 0 && v <= 10_000, .balanceChangePercent, "\(v) is not a percentage from 0 to 10000") }
        for (value, key) in [(balanceChangeMinimum, CodingKeys.balanceChangeMinimum), (balanceChangeAbsolute, .balanceChangeAbsolute), (largeTransactionAmount, .largeTransactionAmount)] {
            // Units times a currency's minor units per unit (at most 10^4) must stay far from overflow.
            if let v = value { try check(v >= 0 && v <= 1_000_000_000_000, key, "\(v) is not an amount of whole units from 0 to 10^12") }
        }
        if let v = largeTransactionMultiple { try check(v.isFinite && v >= 1 && v <= 1_000, .largeTransactionMultiple, "\(v) is not a multiple from 1 to 1000") }
        if let v = largeTransactionPercentile { try check(v.isFinite && v > 0 && v <= 100, .largeTransactionPercentile, "\(v) is not a percentile above 0 and at most 100") }
        if let v = largeTransactionHistoryDays { try check((7...730).contains(v), .largeTransactionHistoryDays, "\(v) is not a number of days from 7 to 730") }
        if let v = largeTransactionMinimumHistory { try check((1...10_000).contains(v), .largeTransactionMinimumHistory, "\(v) is not a count from 1 to 10000") }
        if let v = largeTransactionRecentDays { try check((0...365).contains(v), .largeTransactionRecentDays, "\(v) is not a number of days from 0 to 365") }
        for type in muted ?? [] where !EventType.userTypes.contains(type) {
            throw .invalidField(field: CodingKeys.muted.rawValue, message: "'\(type)' is not an event type a user can opt out of (\(EventType.userTypes.joined(separator: ", ")))")
        }
    }

    func apply(to settings: inout NotificationSettings) {
        if let v = balanceChangePercent { settings.balanceChangePercent = v }
        if let v = balanceChangeMinimum { settings.balanceChangeMinimum = v }
        if let v = balanceChangeAbsolute { settings.balanceChangeAbsolute = v }
        if let v = largeTransactionAmount { settings.largeTransactionAmount = v }
        if let v = largeTransactionMultiple { settings.largeTransactionMultiple = v }
        if let v = largeTransactionPercentile { settings.largeTransactionPercentile = v }
        if let v = largeTransactionHistoryDays { settings.largeTransactionHistoryDays = v }
        if let v = largeTransactionMinimumHistory { settings.largeTransactionMinimumHistory = v }
        if let v = largeTransactionRecentDays { settings.largeTransactionRecentDays = v }
        if let v = syncCompleted { settings.syncCompleted = v }
        if let v = muted { settings.muted.formUnion(v) }
    }
}
