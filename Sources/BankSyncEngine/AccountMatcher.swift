public import BankSyncCore
public import BankSyncProviders

/// Recognises known accounts that a provider now lists under new ids. A GoCardless reconnect
/// is a new requisition, and a new requisition issues new account ids for the same bank
/// accounts; without this, every reconnect would orphan the accounts' history and create
/// duplicates.
public enum AccountMatcher {
    /// Pairs each stored account whose id the provider no longer lists with the one newly
    /// listed account that has its mask (last digits of the IBAN or number), currency, type and
    /// name. Ambiguous candidates (two look-alike accounts) are left alone: a wrong pairing
    /// would move one account's history onto another, a missed one only adds an account.
    /// - Returns: (stored account, its new provider id).
    public static func reidentify(known: [Account], listed: [ProviderAccount]) -> [(Account, String)] {
        let listedIDs = Set(listed.map(\.providerAccountID))
        let knownIDs = Set(known.map(\.providerAccountID))
        let vanished = known.filter { !listedIDs.contains($0.providerAccountID) && $0.status != .closed }
        let fresh = listed.filter { !knownIDs.contains($0.providerAccountID) }
        func same(_ a: Account, _ b: ProviderAccount) -> Bool {
            a.mask != nil && a.mask == b.mask && a.currency == b.currency && a.type == b.type && a.name == b.name
        }
        var pairs: [(Account, String)] = []
        for account in vanished.sorted(by: { $0.id.rawValue < $1.id.rawValue }) {
            let candidates = fresh.filter { same(account, $0) }
            // One candidate, and that candidate fits no other vanished account.
            guard candidates.count == 1, vanished.filter({ same($0, candidates[0]) }).count == 1 else { continue }
            pairs.append((account, candidates[0].providerAccountID))
        }
        return pairs
    }
}
