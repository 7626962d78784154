public import BankSyncCore
public import Foundation

/// How often a connection syncs, and why.
///
/// Starts from the guide's provider defaults (Plaid 6 h transactions / 2 h balances, Teller
/// 8 h / 3 h, GoCardless 12 h / 4 h), then adapts: a user active in the last day syncs twice
/// as often, one not seen for 30 days half as often; an account whose recent syncs all brought
/// changes a quarter sooner, one whose syncs brought nothing half again later. Last, the plan
/// is bounded by the bank's quota: each transaction sync also reads balances, and balance-only
/// refreshes run between syncs, so balance reads a day are `(24 h / T) · ⌈T / B⌉`; they must fit
/// the daily quota less one call kept for a manual sync.
public struct SyncPlan: Sendable, Equatable {
    public var transactionInterval: TimeInterval
    public var balanceInterval: TimeInterval
    /// The plan in words, stored on the connection (`schedule_note`) and shown to operators.
    public var note: String

    /// The guide's default intervals for a provider, in hours.
    public static func defaults(_ provider: Provider) -> (transactions: Double, balances: Double) {
        switch provider {
        case .plaid: (6, 2)
        case .teller: (8, 3)
        case .gocardless: (12, 4)
        }
    }

    /// What is known about a connection when planning.
    public struct Inputs: Sendable {
        public var provider: Provider
        /// Calls a day the bank allows per account and scope (GoCardless: 4), if it limits them.
        public var dailyQuota: Int?
        public var userLastActiveAt: Date?
        /// Rows added + modified by each recent transaction sync, newest first.
        public var recentChanges: [Int]

        public init(provider: Provider, dailyQuota: Int? = nil, userLastActiveAt: Date? = nil, recentChanges: [Int] = []) {
            self.provider = provider
            self.dailyQuota = dailyQuota
            self.userLastActiveAt = userLastActiveAt
            self.recentChanges = recentChanges
        }
    }

    /// Calls kept back from the daily quota for a sync the user asks for.
    public static let reservedCalls = 1
    /// The most often anything is scheduled.
    public static let minimumInterval: TimeInterval = 3_600

    public static func make(_ inputs: Inputs, now: Date) -> SyncPlan {
        let base = defaults(inputs.provider)
        var factor = 1.0
        var reasons: [String] = []
        if let active = inputs.userLastActiveAt {
            let idle = now.timeIntervalSince(active)
            if idle <= 86_400 {
                factor *= 0.5
                reasons.append("user active in the last day")
            } else if idle > 30 * 86_400 {
                factor *= 2
                reasons.append("user not seen for 30 days")
            }
        }
        let recent = inputs.recentChanges.prefix(3)
        if recent.count == 3 && recent.allSatisfy({ $0 > 0 }) {
            factor *= 0.75
            reasons.append("every recent sync brought changes")
        } else if inputs.recentChanges.count >= 5 && inputs.recentChanges.prefix(5).allSatisfy({ $0 == 0 }) {
            factor *= 1.5
            reasons.append("the last 5 syncs brought nothing")
        }
        var transactions = max(minimumInterval, base.transactions * 3_600 * factor)
        var balances = max(minimumInterval, base.balances * 3_600 * factor)
        var text = "transactions every \(hours(transactions)), balances every \(hours(balances))"
        text += reasons.isEmpty ? " (provider defaults)" : " (" + reasons.joined(separator: "; ") + ")"
        // Every transaction sync reads balances too: a balance interval longer than the
        // transaction one would never run on its own.
        balances = min(balances, transactions)
        if let quota = inputs.dailyQuota {
            // Balance reads a day: each transaction sync reads once, and ceil(T/B) − 1 balance-only
            // refreshes run between two syncs. Lengthen B, then T, until that fits the quota.
            let usable = Double(max(1, quota - reservedCalls))
            func reads(_ t: TimeInterval, _ b: TimeInterval) -> Double { (86_400 / t) * (t / b).rounded(.up) }
            if reads(transactions, balances) > usable {
                transactions = max(transactions, 86_400 / usable)
                while reads(transactions, balances) > usable && balances < transactions { balances = min(transactions, balances + 3_600) }
                let together = balances >= transactions ? "balances with each transaction sync" : "balances every \(hours(balances))"
                text = "transactions every \(hours(transactions)), \(together): the bank allows \(quota) calls a day per account and scope, \(reservedCalls) kept for a manual sync"
                if !reasons.isEmpty { text += " (" + reasons.joined(separator: "; ") + ")" }
            }
        }
        return SyncPlan(transactionInterval: transactions, balanceInterval: balances, note: text)
    }

    static func hours(_ seconds: TimeInterval) -> String {
        let h = seconds / 3_600
        return h == h.rounded() ? "\(Int(h)) h" : String(format: "%.1f h", h)
    }
}
