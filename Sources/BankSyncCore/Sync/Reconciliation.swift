/// A transaction as reconciliation compares it: what identifies it and what can match it.
public struct ReconcileRow: Sendable, Hashable {
    /// The provider's id, or a fingerprint key (``Fingerprint``) when it has none.
    public var key: String
    public var amountMinor: Int64
    public var date: CalendarDate
    public var isPending: Bool
    public var description: String
    /// On a posted row: the pending row's key, when the provider links them (Plaid).
    public var pendingKey: String?

    public init(key: String, amountMinor: Int64, date: CalendarDate, isPending: Bool, description: String, pendingKey: String? = nil) {
        self.key = key
        self.amountMinor = amountMinor
        self.date = date
        self.isPending = isPending
        self.description = description
        self.pendingKey = pendingKey
    }
}

/// Keys for rows without a provider id: date, amount, normalised description, and an
/// occurrence index, so two real identical coffees on one day stay two rows while the same
/// row fetched again (overlapping windows) keeps its key.
public enum Fingerprint {
    /// Upper case, runs of spaces collapsed.
    public static func normalize(_ description: String) -> String {
        description.uppercased().split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    /// The key of each row, in order; rows are given in the provider's order, which decides
    /// which twin is occurrence 0.
    public static func keys(_ rows: [(date: CalendarDate, amountMinor: Int64, description: String)]) -> [String] {
        var seen: [String: Int] = [:]
        return rows.map { row in
            let base = "fp:\(row.date):\(row.amountMinor):\(hex(fnv1a(normalize(row.description))))"
            let occurrence = seen[base, default: 0]
            seen[base] = occurrence + 1
            return "\(base):\(occurrence)"
        }
    }

    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    static func hex(_ value: UInt64) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }
}

/// Which pending row became which posted row when the provider does not say (GoCardless,
/// Teller's occasional new id): same account, posted 0–8 days after the pending date, the
/// same amount — or, for outflows, up to 30 % more (a tip added when it settles) — and a
/// similar description. Each pair gets a confidence; pairs are taken best first, one to one.
public enum PendingMatcher {
    public struct Match: Sendable, Hashable {
        public let pendingKey: String
        public let postedKey: String
        /// 0…1.
        public let confidence: Double
    }

    /// Matches below this confidence are not made.
    public static let threshold = 0.6

    public static func match(pending: [ReconcileRow], posted: [ReconcileRow]) -> [Match] {
        var candidates: [Match] = []
        for p in pending {
            for q in posted {
                if let confidence = confidence(pending: p, posted: q), confidence >= threshold {
                    candidates.append(Match(pendingKey: p.key, postedKey: q.key, confidence: confidence))
                }
            }
        }
        // Best first; ties broken by keys so the result does not depend on input order.
        candidates.sort { ($0.confidence, $1.pendingKey, $1.postedKey) > ($1.confidence, $0.pendingKey, $0.postedKey) }
        var usedPending: Set<String> = []
        var usedPosted: Set<String> = []
        var matches: [Match] = []
        for candidate in candidates where !usedPending.contains(candidate.pendingKey) && !usedPosted.contains(candidate.postedKey) {
            usedPending.insert(candidate.pendingKey)
            usedPosted.insert(candidate.postedKey)
            matches.append(candidate)
        }
        return matches.sorted { $0.postedKey < $1.postedKey }
    }

    /// The confidence that `posted` settles `pending`, or nil if it cannot.
    public static func confidence(pending: ReconcileRow, posted: ReconcileRow) -> Double? {
        let days = posted.date.daysSince(pending.date)
        guard (0...8).contains(days), (pending.amountMinor < 0) == (posted.amountMinor < 0), pending.amountMinor != 0 else { return nil }
        let amountScore: Double
        if pending.amountMinor == posted.amountMinor {
            amountScore = 1
        } else if pending.amountMinor < 0, posted.amountMinor < pending.amountMinor,
            Double(posted.amountMinor - pending.amountMinor) / Double(-pending.amountMinor) <= 0.30
        {
            amountScore = 0.85  // a tip
        } else {
            return nil
        }
        let similarity = descriptionSimilarity(pending.description, posted.description)
        if amountScore < 1 && similarity < 0.5 { return nil }  // a different amount needs the same merchant
        return max(0, amountScore * (0.55 + 0.45 * similarity) - 0.02 * Double(days))
    }

    /// Jaccard similarity of the descriptions' words (letters only, three or more).
    public static func descriptionSimilarity(_ a: String, _ b: String) -> Double {
        func words(_ text: String) -> Set<String> {
            Set(text.uppercased().split(whereSeparator: { !$0.isLetter }).map(String.init).filter { $0.count >= 3 })
        }
        let x = words(a)
        let y = words(b)
        guard !x.isEmpty || !y.isEmpty else { return 1 }
        return Double(x.intersection(y).count) / Double(x.union(y).count)
    }
}

/// What to do with one account's stored rows in a date window, given everything the provider
/// returned for that window (Teller, GoCardless): rows it no longer returns are gone, pending
/// rows are replaced as a set, and posted rows that settle a vanished pending row are linked
/// to it so user edits move over.
public struct WindowPlan: Sendable {
    public var inserts: [ReconcileRow] = []
    /// Stored key → the fetched row, where something changed.
    public var updates: [ReconcileRow] = []
    public var removals: [String] = []
    /// Pending rows settled by inserted posted rows (removed too, and listed in `removals`).
    public var settlements: [PendingMatcher.Match] = []

    public static func plan(stored: [ReconcileRow], fetched: [ReconcileRow]) -> WindowPlan {
        var plan = WindowPlan()
        let storedByKey = Dictionary(stored.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        let fetchedKeys = Set(fetched.map(\.key))
        for row in fetched {
            if let old = storedByKey[row.key] {
                if old != row { plan.updates.append(row) }
            } else {
                plan.inserts.append(row)
            }
        }
        plan.removals = stored.filter { !fetchedKeys.contains($0.key) }.map(\.key)
        // Pending rows that vanished, and new posted rows: settle by provider link, else by matcher.
        let removedSet = Set(plan.removals)
        let vanishedPending = stored.filter { $0.isPending && removedSet.contains($0.key) }
        let newPosted = plan.inserts.filter { !$0.isPending }
        var linked: Set<String> = []
        for row in newPosted {
            if let pendingKey = row.pendingKey, vanishedPending.contains(where: { $0.key == pendingKey }) {
                plan.settlements.append(PendingMatcher.Match(pendingKey: pendingKey, postedKey: row.key, confidence: 1))
                linked.insert(pendingKey)
            }
        }
        let linkedPosted = Set(plan.settlements.map(\.postedKey))
        plan.settlements += PendingMatcher.match(
            pending: vanishedPending.filter { !linked.contains($0.key) }, posted: newPosted.filter { !linkedPosted.contains($0.key) })
        return plan
    }
}

extension CalendarDate {
    /// Days from `other` to this date (negative if this is earlier).
    public func daysSince(_ other: CalendarDate) -> Int { dayNumber - other.dayNumber }

    /// The date `days` later (earlier when negative).
    public func adding(days: Int) -> CalendarDate { CalendarDate(dayNumber: dayNumber + days) }

    /// The date `dayNumber` days after 1970-01-01 (proleptic Gregorian).
    public init(dayNumber: Int) {
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        // Always a valid date: the arithmetic is the inverse of `dayNumber`.
        self = try! CalendarDate(year: yoe + era * 400 + (m <= 2 ? 1 : 0), month: m, day: d)
    }

    /// Days since 1970-01-01 (proleptic Gregorian).
    public var dayNumber: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
        return era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
    }
}
