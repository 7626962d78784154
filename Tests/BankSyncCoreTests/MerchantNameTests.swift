@testable import BankSyncCore
import Testing

@Suite("Merchant names from raw descriptors")
struct MerchantNameTests {
    @Test("card descriptors become recognisable names", arguments: [
        ("SQ *BLUE BOTTLE 0412 SAN FRANCISCO CA", "Blue Bottle"),
        ("SQ *BLUE BOTTLE COFFEE OAKLAND CA", "Blue Bottle Coffee"),
        ("TST* GREEN LEAF CAFE BROOKLYN NY", "Green Leaf Cafe"),
        ("STARBUCKS STORE 08812 SEATTLE WA", "Starbucks Store"),
        ("WHOLEFDS MKT 10233 AUSTIN TX", "Wholefds Mkt"),
        ("TRADER JOE S #552 PORTLAND OR", "Trader Joe S"),
        ("SHELL OIL 57444 HOUSTON TX", "Shell Oil"),
        ("UBER *TRIP HELP.UBER.COM CA", "Uber"),
        ("NETFLIX.COM NETFLIX.COM CA", "Netflix.com"),
        ("CVS/PHARMACY #0412 PROVIDENCE RI", "Cvs/pharmacy"),
        ("CARD 4431 CAFE CENTRAL BERLIN", "Cafe Central Berlin"),
        ("VZWRLSS*APOCC VISB 800-922-0204 FL", "Vzwrlss*apocc Visb"),
        ("Blue Bottle Coffee", "Blue Bottle Coffee"),
    ])
    func cleans(raw: String, expected: String) {
        #expect(MerchantName.clean(raw) == expected)
    }

    @Test("nothing name-like left gives nil")
    func empty() {
        #expect(MerchantName.clean("#1234 5678") == nil)
        #expect(MerchantName.clean("") == nil)
    }

    @Test("a descriptor cleaned again gives the same answer, nil included")
    func repeatedDescriptors() {
        for _ in 0..<3 {
            #expect(MerchantName.clean("SQ *BLUE BOTTLE 0412 SAN FRANCISCO CA") == "Blue Bottle")
            #expect(MerchantName.clean("#1234 5678") == nil)
            #expect(MerchantName.clean("JOE'S PIZZA") == "Joe's Pizza")
            // Longer than what is remembered: cleaned afresh each time, the same answer.
            let long = "SQ *" + String(repeating: "LONG NAME ", count: 30) + "0412 SAN FRANCISCO CA"
            #expect(MerchantName.clean(long) == Array(repeating: "Long Name", count: 30).joined(separator: " "))
        }
    }

    @Test("more distinct descriptors than the cache holds are all cleaned right")
    func beyondTheCache() {
        for number in 0..<(MerchantName.cacheLimit + 50) {
            let name = MerchantName.clean("SQ *CAFE \(number) 0412 SAN FRANCISCO CA")
            if name != "Cafe" { Issue.record("descriptor \(number) gave \(name ?? "nil")") }
        }
    }
}
