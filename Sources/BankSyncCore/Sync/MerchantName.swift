import Synchronization

/// Turns a raw card descriptor into a merchant name people recognise:
/// `"SQ *BLUE BOTTLE 0412 SAN FRANCISCO CA"` → `"Blue Bottle"`.
///
/// Rules, in order: drop payment-processor prefixes (`SQ *`, `TST*`, `SP `, `PAYPAL *`, …),
/// bank boilerplate (`POS DEBIT`, `CARD 1234`, `PURCHASE AUTHORIZED ON 01/02`), store numbers
/// (`#552`, `0412`, `08812`), a trailing US city and state or a phone number or web address,
/// then title-case what is left. Deterministic and conservative: when in doubt it keeps words.
public enum MerchantName {
    private static let processorPrefixes = [
        "SQ *", "SQ*", "TST* ", "TST*", "SP * ", "SP *", "SP ", "PAYPAL *", "PP*", "PY *", "IC* ", "IC*", "CKO*", "DD *", "DD*",
        "UBER *", "LYFT *", "GOOGLE *", "APPLE.COM/BILL", "AMZN MKTP US*", "AMZN Mktp US*", "AMAZON.COM*", "WWW.", "POS DEBIT ",
        "POS PURCHASE ", "DEBIT CARD PURCHASE ", "CHECKCARD ", "PURCHASE ", "RECURRING PAYMENT ", "ACH DEBIT ", "ACH DEPOSIT ",
    ]
    /// The prefixes as the upper-cased text is compared with them, computed once.
    private static let upperPrefixes = processorPrefixes.map { ($0, $0.uppercased()) }
    private static let keepWithPrefix: Set<String> = ["UBER *", "LYFT *", "GOOGLE *"]
    private static let states: Set<String> = [
        "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA",
        "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN",
        "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
    ]
    /// Words that end a merchant name when a city follows (`… COFFEE OAKLAND CA`).
    private static let nameEnders: Set<String> = [
        "COFFEE", "CAFE", "MARKET", "MKT", "GRILL", "BAR", "TAP", "PHARMACY", "STORE", "STORES", "FOODS", "KITCHEN", "PIZZA", "DELI",
        "BAKERY", "RESTAURANT", "THEATRES", "TRIP", "RIDE",
    ]

    /// The names cleaned lately, by raw descriptor. People buy from the same merchants again and
    /// again, so a sync meets the same descriptors many times; cleaning one was a tenth of the
    /// sync pipeline's CPU. Bounded: emptied when it reaches ``cacheLimit`` entries, and
    /// descriptors longer than ``cachedLength`` bytes are not kept.
    private static let cache = Mutex<[String: Cleaned]>([:])
    /// At most this many descriptors are remembered (with ~50-byte descriptors, about 1.5 MB).
    static let cacheLimit = 8_192
    /// The longest descriptor remembered, in UTF-8 bytes (card descriptors are under 100).
    static let cachedLength = 256
    private struct Cleaned { let name: String? }

    /// The cleaned name, or nil when nothing name-like is left.
    public static func clean(_ raw: String) -> String? {
        if let hit = cache.withLock({ $0[raw] }) { return hit.name }
        let name = cleaned(raw)
        guard raw.utf8.count <= cachedLength else { return name }
        cache.withLock { cache in
            if cache.count >= cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[raw] = Cleaned(name: name)
        }
        return name
    }

    private static func cleaned(_ raw: String) -> String? {
        var text = raw.uppercased().trimmingWhitespace
        for (prefix, upper) in upperPrefixes where text.hasPrefix(upper) {
            let brand = keepWithPrefix.contains(prefix) ? String(prefix.dropLast(2)) : nil
            text = String(text.dropFirst(prefix.count)).trimmingWhitespace
            if let brand { return titleCase(brand) }
            break
        }
        var words = text.split(separator: " ").map(String.init)
        // Bank boilerplate and references.
        words.removeAll { $0.contains("/") && $0.filter(\.isNumber).count >= 2 }
        if let card = words.firstIndex(of: "CARD"), card + 1 < words.count, words[card + 1].allSatisfy(\.isNumber) {
            words.removeSubrange(card...(card + 1))
        }
        func isStoreNumber(_ word: String) -> Bool { word.hasPrefix("#") || (word.allSatisfy(\.isNumber) && word.count >= 3) }
        // Trailing: phone numbers, web addresses, US state + city, store numbers.
        while let last = words.last, words.count > 1 {
            if last.filter(\.isNumber).count >= 7 || last.containsText(".COM") || last.hasPrefix("HTTP") {
                words.removeLast()
            } else if states.contains(last) && words.count > 2 {
                words.removeLast()
                // The city: everything after a store number, else after a word that ends
                // names (up to two words), else one word.
                if let number = words.lastIndex(where: isStoreNumber), number > 0 {
                    words.removeSubrange(number...)
                } else if let ender = words.lastIndex(where: { nameEnders.contains($0) }), ender < words.count - 1, words.count - 1 - ender <= 2 {
                    words.removeSubrange((ender + 1)...)
                } else if words.count > 2 {
                    words.removeLast()
                }
            } else if isStoreNumber(last) || last.allSatisfy({ $0.isNumber || $0 == "-" }) {
                words.removeLast()
            } else {
                break
            }
        }
        if words.count > 1 { words.removeAll { $0.hasPrefix("#") } }
        if words.count > 1 { words.removeAll { word in word.allSatisfy(\.isNumber) } }
        let name = words.joined(separator: " ").trimmingCharacters(in: " *-")
        guard name.contains(where: \.isLetter) else { return nil }
        return titleCase(name)
    }

    static func titleCase(_ text: String) -> String {
        text.split(separator: " ").map { word -> String in
            let lower = word.lowercased()
            if ["and", "of", "the"].contains(lower) { return lower }
            if word.count <= 3 && word.allSatisfy(\.isLetter) && !["BAR", "TAP", "CVS", "AMC"].contains(String(word)) && !word.contains(where: \.isLowercase) {
                return lower.prefix(1).uppercased() + lower.dropFirst()
            }
            if ["CVS", "AMC", "USA", "IKEA", "BP"].contains(String(word)) { return String(word) }
            return lower.prefix(1).uppercased() + lower.dropFirst()
        }.joined(separator: " ").replacingFirst("'S", with: "'s")
    }
}

extension String {
    var trimmingWhitespace: String { trimmingCharacters(in: " \t\n") }

    func trimmingCharacters(in set: String) -> String {
        var scalars = Substring(self)
        while let first = scalars.first, set.contains(first) { scalars = scalars.dropFirst() }
        while let last = scalars.last, set.contains(last) { scalars = scalars.dropLast() }
        return String(scalars)
    }

    /// Whether `target` occurs in the text, compared as UTF-8 bytes (no Foundation: its
    /// `range(of:)` went through CoreFoundation for every word of every descriptor).
    func containsText(_ target: String) -> Bool { utf8Range(of: target) != nil }

    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = utf8Range(of: target) else { return self }
        var result = self
        result.replaceSubrange(range, with: replacement)
        return result
    }

    /// The first occurrence of `target`, by UTF-8 bytes (the standard library's collection search).
    private func utf8Range(of target: String) -> Range<String.Index>? {
        guard !target.isEmpty else { return nil }
        return utf8.firstRange(of: target.utf8)
    }
}
