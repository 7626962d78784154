import BankSyncCore
import BankSyncEngine
import BankSyncProviders
import Foundation
import Testing

@Suite("AccountMatcher: known accounts listed again under new ids")
struct AccountMatcherTests {
    let eur = try! Currency(code: "EUR")

    func stored(_ id: String, name: String, mask: String?, type: AccountType = .depository) -> Account {
        Account(
            id: Identifier(rawValue: "acc-\(id)"), connectionID: "conn", userID: "user", providerAccountID: id, name: name, mask: mask, type: type,
            currency: eur, createdAt: Date(timeIntervalSince1970: 0))
    }

    func listed(_ id: String, name: String, mask: String?, type: AccountType = .depository) -> ProviderAccount {
        ProviderAccount(providerAccountID: id, name: name, mask: mask, type: type, currency: eur)
    }

    @Test("each vanished account is paired with the one new account of the same mask, currency, type and name")
    func pairsLookAlikes() {
        let known = [stored("old-1", name: "Current", mask: "1234"), stored("old-2", name: "Savings", mask: "9876"), stored("kept", name: "Card", mask: "5555", type: .credit)]
        let now = [listed("new-2", name: "Savings", mask: "9876"), listed("new-1", name: "Current", mask: "1234"), listed("kept", name: "Card", mask: "5555", type: .credit)]
        let pairs = AccountMatcher.reidentify(known: known, listed: now)
        #expect(Dictionary(uniqueKeysWithValues: pairs.map { ($0.0.providerAccountID, $0.1) }) == ["old-1": "new-1", "old-2": "new-2"])
    }

    @Test("ambiguous look-alikes, a missing mask, or a different currency or type are left as new accounts")
    func leavesDoubtAlone() throws {
        let twins = [stored("a", name: "Pocket", mask: "0001"), stored("b", name: "Pocket", mask: "0001")]
        #expect(AccountMatcher.reidentify(known: twins, listed: [listed("c", name: "Pocket", mask: "0001")]).isEmpty)
        #expect(AccountMatcher.reidentify(known: [stored("a", name: "Current", mask: nil)], listed: [listed("b", name: "Current", mask: nil)]).isEmpty)
        #expect(AccountMatcher.reidentify(known: [stored("a", name: "Current", mask: "1")], listed: [listed("b", name: "Current", mask: "1", type: .credit)]).isEmpty)
        let gbp = ProviderAccount(providerAccountID: "b", name: "Current", mask: "1", type: .depository, currency: try Currency(code: "GBP"))
        #expect(AccountMatcher.reidentify(known: [stored("a", name: "Current", mask: "1")], listed: [gbp]).isEmpty)
    }
}
