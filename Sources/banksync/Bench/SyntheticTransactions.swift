import BankSyncCore
import Foundation

/// Deterministic transactions of realistic width for benchmarks: bank-style descriptions of
/// 20-60 characters, merchant and counterparty names, provider categories, two years of dates.
struct SyntheticTransactions {
    let userID: Identifier<User>
    let accountIDs: [Identifier<Account>]
    /// Prefixes row ids so runs against one database do not collide.
    let tag: String

    private static let merchants = [
        "Starbucks", "Whole Foods Market", "Shell Oil", "Amazon Marketplace", "Uber Trip", "Netflix.com",
        "Trader Joe's", "Delta Air Lines", "Walgreens", "Spotify USA", "Chipotle Mexican Grill", "Home Depot",
    ]
    private static let categories = [
        "FOOD_AND_DRINK_COFFEE", "FOOD_AND_DRINK_GROCERIES", "TRANSPORTATION_GAS", "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES",
        "TRANSPORTATION_TAXIS_AND_RIDE_SHARES", "ENTERTAINMENT_TV_AND_MOVIES", "TRAVEL_FLIGHTS", "MEDICAL_PHARMACIES_AND_SUPPLEMENTS",
    ]

    /// Row `i` of the set; the same `i` always gives the same row (ids included).
    func transaction(_ i: Int, now: Date) -> Transaction {
        var rng = SplitMix64(seed: UInt64(i) &* 0x9E37_79B9_7F4A_7C15)
        let merchant = Self.merchants[Int(rng.next() % UInt64(Self.merchants.count))]
        let store = rng.next() % 9000 + 1000
        let city = ["SAN FRANCISCO CA", "NEW YORK NY", "AUSTIN TX", "SEATTLE WA"][Int(rng.next() % 4)]
        let day = Int(rng.next() % 730)
        let date = CalendarDate(now.addingTimeInterval(-Double(day) * 86_400))
        let cents = Int64(rng.next() % 25_000) + 50
        let pending = i % 20 == 0
        return Transaction(
            id: Identifier("\(tag)-\(i)"), accountID: accountIDs[i % accountIDs.count], userID: userID,
            providerTransactionID: "txn_\(String(i, radix: 36))_\(String(rng.next() % 1_000_000_000, radix: 36))",
            status: pending ? .pending : .posted,
            amount: Money(minorUnits: i % 10 == 0 ? cents * 40 : -cents, currency: try! Currency(code: "USD")),
            date: date, authorizedDate: date,
            description: "\(merchant.uppercased()) #\(store) \(city) POS PURCHASE", merchantName: merchant,
            counterparty: merchant + " Inc.", providerCategory: Self.categories[Int(rng.next() % UInt64(Self.categories.count))],
            createdAt: now)
    }
}

/// A small fast deterministic generator (SplitMix64), so benchmark data is identical run to run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
