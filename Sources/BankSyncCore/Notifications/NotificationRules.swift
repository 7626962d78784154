/// The guide's significant-balance-change rule, made safe: the percentage is taken of the
/// previous balance's size (so a sign flip counts as the whole distance travelled), and a
/// previous balance of 0 makes any change "infinitely" large in percent, so only the
/// amount floor decides. Arithmetic is exact (128-bit integers), never floating point on money.
public enum BalanceChangeRule {
    /// A change worth telling the user about.
    public struct Change: Sendable, Equatable {
        public var change: Money
        /// |change| / |previous| × 100; nil when the previous balance was 0.
        public var percent: Double?
        /// `percent` (over the percentage and the floor) or `absolute` (over the absolute limit).
        public var reason: String
        /// The balance went from owing to holding money or back.
        public var signFlipped: Bool
    }

    /// The change from `previous` to `current` if it is significant under `settings`; nil when
    /// it is not, or when the currencies differ (no comparison across currencies).
    public static func evaluate(previous: Money, current: Money, settings: NotificationSettings) -> Change? {
        guard previous.currency == current.currency else { return nil }
        let unit = Int128(current.currency.minorUnitsPerMajor)
        let delta = Int128(current.minorUnits) - Int128(previous.minorUnits)
        let size = delta.magnitude
        let base = Int128(previous.minorUnits).magnitude
        let percent: Double? = base == 0 ? nil : Double(size) / Double(base) * 100
        let signFlipped = (previous.minorUnits < 0 && current.minorUnits > 0) || (previous.minorUnits > 0 && current.minorUnits < 0)
        let change = Money(minorUnits: Int64(clamping: delta), currency: current.currency)
        if size > UInt128(Int128(settings.balanceChangeAbsolute) * unit) {
            return Change(change: change, percent: percent, reason: "absolute", signFlipped: signFlipped)
        }
        guard size > UInt128(Int128(settings.balanceChangeMinimum) * unit) else { return nil }
        // |Δ| / |previous| > p %  ⇔  |Δ| × 10 000 > p × 100 × |previous| (p in basis points, exact).
        let basisPoints = UInt128(max(0, (settings.balanceChangePercent * 100).rounded()))
        if base == 0 || size * 10_000 > basisPoints * base {
            return Change(change: change, percent: percent, reason: "percent", signFlipped: signFlipped)
        }
        return nil
    }
}

/// `transaction.large`: a transaction unusually large for this user and account.
public enum LargeTransactionRule {
    /// Why a transaction counts as large.
    public struct Finding: Sendable, Equatable {
        /// `absolute` (over the configured amount) or `history` (over the multiple of the
        /// user's own percentile outflow).
        public var reason: String
        /// The amount it had to exceed, in minor units (positive).
        public var thresholdMinor: Int64
        /// The percentile outflow the history rule compared with (positive minor units).
        public var percentileMinor: Int64?

        public init(reason: String, thresholdMinor: Int64, percentileMinor: Int64?) {
            self.reason = reason
            self.thresholdMinor = thresholdMinor
            self.percentileMinor = percentileMinor
        }
    }

    /// Whether `amount` is large. `recentOutflows` are the sizes (positive minor units) of the
    /// account's outflows over the history period, the new rows left out.
    public static func evaluate(amount: Money, recentOutflows: [Int64], settings: NotificationSettings) -> Finding? {
        let unit = Int128(amount.currency.minorUnitsPerMajor)
        let size = Int128(amount.minorUnits).magnitude
        let absolute = Int128(settings.largeTransactionAmount) * unit
        if size > UInt128(absolute) {
            return Finding(reason: "absolute", thresholdMinor: Int64(clamping: absolute), percentileMinor: nil)
        }
        guard amount.minorUnits < 0, recentOutflows.count >= settings.largeTransactionMinimumHistory,
            let usual = percentile(recentOutflows, settings.largeTransactionPercentile), usual > 0
        else { return nil }
        let threshold = Double(usual) * settings.largeTransactionMultiple
        guard Double(size) > threshold else { return nil }
        return Finding(reason: "history", thresholdMinor: Int64(threshold.rounded(.down)), percentileMinor: usual)
    }

    /// The nearest-rank `p`th percentile (0 < p ≤ 100) of `values`; nil for no values.
    public static func percentile(_ values: [Int64], _ p: Double) -> Int64? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}
