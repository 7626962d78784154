/// An ISO 4217 currency with the number of minor-unit digits it is written with.
///
/// Only currencies in ``Currency/known`` can be constructed: an unknown code is an error
/// (``MoneyError/unknownCurrency(_:)``), never a guessed exponent, because a wrong exponent
/// would scale every amount by a power of ten.
public struct Currency: Hashable, Sendable, CustomStringConvertible, Codable {
    /// The upper-case three-letter ISO 4217 code, e.g. `"EUR"`.
    public let code: String
    /// The number of digits after the decimal point in the currency's minor unit (JPY 0, USD 2, KWD 3).
    public let exponent: Int

    /// Looks up a currency by its ISO 4217 code (case-insensitive).
    /// - Throws: ``MoneyError/unknownCurrency(_:)`` when the code is not in the table.
    public init(code: String) throws(MoneyError) {
        let upper = code.uppercased()
        guard let exponent = Currency.exponents[upper] else {
            throw .unknownCurrency(code)
        }
        self.code = upper
        self.exponent = exponent
    }

    public var description: String { code }

    /// 10^exponent, the number of minor units in one major unit.
    public var minorUnitsPerMajor: Int64 {
        var value: Int64 = 1
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let code = try container.decode(String.self)
        do {
            try self.init(code: code)
        } catch {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "unknown ISO 4217 currency code '\(code)'")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(code)
    }

    /// All currency codes this build knows, sorted.
    public static var known: [String] { exponents.keys.sorted() }

    /// ISO 4217 minor-unit exponents (the list current at 2026). Covers every currency the three
    /// providers document (Plaid: US/CA/EU/UK; Teller: US; GoCardless: EEA + UK + CH), plus the
    /// other active codes so a bank quoting an unusual currency is stored exactly.
    static let exponents: [String: Int] = {
        var table: [String: Int] = [:]
        let zero = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
        let three = "BHD IQD JOD KWD LYD OMR TND"
        let four = "CLF UYW"
        let two = """
            AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP \
            BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD \
            FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD \
            KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD \
            NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP \
            SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED \
            VES WST XCD XCG YER ZAR ZMW ZWG
            """
        for (list, exp) in [(zero, 0), (two, 2), (three, 3), (four, 4)] {
            for code in list.split(separator: " ") { table[String(code)] = exp }
        }
        return table
    }()
}
