/// What the model reads of a transaction: its text (the bank's description and, when known,
/// the merchant name) and its amount.
public struct CategorizerInput: Sendable, Hashable {
    public var description: String
    public var merchant: String?
    /// Minor units, BankSync's sign (negative = money out); nil when unknown (training rows
    /// without amounts).
    public var amountMinor: Int64?

    public init(description: String, merchant: String? = nil, amountMinor: Int64? = nil) {
        self.description = description
        self.merchant = merchant
        self.amountMinor = amountMinor
    }
}

/// Hashed features: word unigrams and bigrams and character 3–5-grams of each word (with
/// word boundaries) of the normalised description, the merchant's words under their own
/// prefix, and the amount's sign and order of magnitude. Each feature is an FNV-1a hash
/// folded into `2^bits` buckets; collisions are rare enough at 2^18 and cost nothing to store.
///
/// Normalisation: letters lower-cased (any script), digit runs become one `0` (store numbers
/// and dates carry no category), everything else separates words. Text past 256 bytes is
/// not read: descriptors that long are boilerplate.
public struct FeatureHasher: Sendable, Hashable {
    public let bits: Int

    public init(bits: Int = 18) {
        precondition((10...24).contains(bits), "feature bits must be 10…24")
        self.bits = bits
    }

    public var buckets: Int { 1 << bits }

    /// The features of `input`, appended to `out` (cleared first); duplicates are kept, which
    /// weights a repeated word the way a count would.
    public func features(_ input: CategorizerInput, into out: inout [Int32]) {
        out.removeAll(keepingCapacity: true)
        let mask = UInt64(buckets - 1)
        var words: [ArraySlice<UInt8>] = []
        var buffer: [UInt8] = []
        buffer.reserveCapacity(300)
        Self.normalize(input.description, into: &buffer)
        words = Self.words(buffer)
        var previous: ArraySlice<UInt8>?
        for word in words {
            out.append(Int32(truncatingIfNeeded: Self.hash(word, seed: 0x77) & mask))
            if let previous { out.append(Int32(truncatingIfNeeded: Self.hash(word, seed: Self.hash(previous, seed: 0x62)) & mask)) }
            previous = word
            Self.charGrams(word, mask: mask, into: &out)
        }
        if let merchant = input.merchant, !merchant.isEmpty {
            var merchantBuffer: [UInt8] = []
            Self.normalize(merchant, into: &merchantBuffer)
            for word in Self.words(merchantBuffer) { out.append(Int32(truncatingIfNeeded: Self.hash(word, seed: 0x6D) & mask)) }
        }
        if let amount = input.amountMinor {
            // Sign, and sign with the order of magnitude in major units (0: under 1, 1: under 10, …).
            var magnitude = 0
            var rest = amount.magnitude / 100
            while rest > 0 && magnitude < 7 {
                magnitude += 1
                rest /= 10
            }
            let sign: UInt64 = amount < 0 ? 1 : amount > 0 ? 2 : 3
            out.append(Int32(truncatingIfNeeded: Self.mix(0xA5A5 &+ sign) & mask))
            out.append(Int32(truncatingIfNeeded: Self.mix(0x5A5A &+ sign &* 16 &+ UInt64(magnitude)) & mask))
        }
        if out.isEmpty { out.append(Int32(truncatingIfNeeded: Self.mix(0xE3E3) & mask)) }  // "no text at all" is a feature too
    }

    /// Lower-cased letters and digits (digit runs as one `0`), single spaces between words.
    static func normalize(_ text: String, into out: inout [UInt8]) {
        var lastWasSpace = true
        var lastWasDigit = false
        for scalar in text.unicodeScalars {
            if out.count >= 256 { break }
            if scalar.isASCII {
                let byte = UInt8(scalar.value)
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                    out.append(byte + 32)
                    lastWasSpace = false
                    lastWasDigit = false
                case UInt8(ascii: "a")...UInt8(ascii: "z"):
                    out.append(byte)
                    lastWasSpace = false
                    lastWasDigit = false
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    if !lastWasDigit { out.append(UInt8(ascii: "0")) }
                    lastWasSpace = false
                    lastWasDigit = true
                case UInt8(ascii: "'"):
                    continue  // "trader joe's" = "trader joes"
                default:
                    if !lastWasSpace { out.append(UInt8(ascii: " ")) }
                    lastWasSpace = true
                    lastWasDigit = false
                }
            } else if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                for lower in String(scalar).lowercased().utf8 { out.append(lower) }
                lastWasSpace = false
                lastWasDigit = false
            } else {
                // Emoji, symbols and punctuation of other scripts separate words.
                if !lastWasSpace { out.append(UInt8(ascii: " ")) }
                lastWasSpace = true
                lastWasDigit = false
            }
        }
        if out.last == UInt8(ascii: " ") { out.removeLast() }
    }

    static func words(_ text: [UInt8]) -> [ArraySlice<UInt8>] {
        text.split(separator: UInt8(ascii: " "))
    }

    /// 3-, 4- and 5-grams of `^word$`.
    static func charGrams(_ word: ArraySlice<UInt8>, mask: UInt64, into out: inout [Int32]) {
        let length = word.count + 2
        func byte(_ index: Int) -> UInt8 {
            index == 0 || index == length - 1 ? UInt8(ascii: "|") : word[word.startIndex + index - 1]
        }
        for n in 3...5 where length >= n {
            for start in 0...(length - n) {
                var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(n)
                for index in start..<(start + n) {
                    hash ^= UInt64(byte(index))
                    hash = hash &* 0x0000_0100_0000_01b3
                }
                out.append(Int32(truncatingIfNeeded: mix(hash) & mask))
            }
        }
    }

    static func hash(_ bytes: ArraySlice<UInt8>, seed: UInt64) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return mix(hash)
    }

    /// A final avalanche, so nearby inputs spread over the buckets (splitmix64's finaliser).
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
