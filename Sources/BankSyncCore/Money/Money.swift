/// An exact amount of money: `Int64` minor units of one ``Currency``.
///
/// ## Sign convention
/// **Negative means money leaves the account, positive means money arrives**, from the account
/// holder's point of view. This holds for every account type: a card purchase is negative, a
/// salary is positive. Provider adapters convert at the boundary (Plaid sends positive for
/// outflow, so its amounts are negated; Teller credit-card amounts likewise).
///
/// Amounts are parsed from decimal *text* (``init(parsing:currency:)``), never via `Double`,
/// so `0.1 + 0.2` is exactly `0.3`. Arithmetic traps nothing silently: mixing currencies throws
/// ``MoneyError/currencyMismatch(_:_:)`` and overflow throws ``MoneyError/overflow(_:)``.
public struct Money: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The amount in the currency's minor unit (cents for USD, yen for JPY, fils for KWD).
    public let minorUnits: Int64
    /// The currency the amount is in.
    public let currency: Currency

    /// Creates an amount from minor units.
    public init(minorUnits: Int64, currency: Currency) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    /// Creates an amount from minor units and a currency code.
    /// - Throws: ``MoneyError/unknownCurrency(_:)``.
    public init(minorUnits: Int64, currencyCode: String) throws(MoneyError) {
        self.init(minorUnits: minorUnits, currency: try Currency(code: currencyCode))
    }

    /// Parses decimal text such as `"-12.30"`, `"45"`, `"+0.5"` or `".5"`.
    ///
    /// Accepts the token of a JSON number as it appeared on the wire (Plaid sends amounts as
    /// JSON numbers; keep the raw token and pass it here). Rejects exponents (`"1e2"`),
    /// whitespace, separators and empty text. Fraction digits beyond the currency's exponent
    /// are accepted only when they are zeros (`"12.300"` is 12.30 USD); otherwise the text is
    /// an error, not a rounding.
    public init(parsing text: String, currency: Currency) throws(MoneyError) {
        var bytes = Substring(text).utf8[...]
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        var integerPart: Int64 = 0
        var fraction: Int64 = 0
        var fractionDigits = 0
        var sawDigit = false
        var sawPoint = false
        let exponent = currency.exponent
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                if sawPoint { throw .malformedAmount(text) }
                sawPoint = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw .malformedAmount(text)
            }
            sawDigit = true
            let digit = Int64(byte - UInt8(ascii: "0"))
            if sawPoint {
                fractionDigits += 1
                if fractionDigits > exponent {
                    if digit != 0 { throw .tooManyFractionDigits(text, currency: currency.code, allowed: exponent) }
                    continue
                }
                fraction = fraction * 10 + digit
            } else {
                let (times, o1) = integerPart.multipliedReportingOverflow(by: 10)
                let (plus, o2) = times.addingReportingOverflow(digit)
                if o1 || o2 { throw .overflow(text) }
                integerPart = plus
            }
        }
        guard sawDigit else { throw .malformedAmount(text) }
        for _ in min(fractionDigits, exponent)..<exponent { fraction *= 10 }
        let (scaled, o1) = integerPart.multipliedReportingOverflow(by: currency.minorUnitsPerMajor)
        let (total, o2) = scaled.addingReportingOverflow(fraction)
        if o1 || o2 { throw .overflow(text) }
        self.init(minorUnits: negative ? -total : total, currency: currency)
    }

    /// Parses decimal text in the currency with the given ISO 4217 code.
    /// - Throws: ``MoneyError`` naming the code or the text that was wrong.
    public init(parsing text: String, currencyCode: String) throws(MoneyError) {
        try self.init(parsing: text, currency: try Currency(code: currencyCode))
    }

    /// The amount as plain decimal text with exactly `exponent` fraction digits: `"-12.30"`, `"500"` (JPY).
    public var decimalString: String {
        let magnitude = minorUnits.magnitude
        let per = UInt64(currency.minorUnitsPerMajor)
        let sign = minorUnits < 0 ? "-" : ""
        guard currency.exponent > 0 else { return sign + String(magnitude) }
        let fraction = String(magnitude % per)
        let padded = String(repeating: "0", count: currency.exponent - fraction.count) + fraction
        return "\(sign)\(magnitude / per).\(padded)"
    }

    /// `"-12.30 USD"`.
    public var description: String { "\(decimalString) \(currency.code)" }

    /// Zero in the given currency.
    public static func zero(_ currency: Currency) -> Money { Money(minorUnits: 0, currency: currency) }

    /// Whether the amount is money leaving the account.
    public var isOutflow: Bool { minorUnits < 0 }

    /// The same magnitude with the opposite sign: used by adapters whose providers report outflow as positive.
    public var negated: Money { Money(minorUnits: -minorUnits, currency: currency) }

    /// Adds two amounts of the same currency.
    /// - Throws: ``MoneyError/currencyMismatch(_:_:)`` or ``MoneyError/overflow(_:)``.
    public func adding(_ other: Money) throws(MoneyError) -> Money {
        guard currency == other.currency else { throw .currencyMismatch(currency.code, other.currency.code) }
        let (sum, overflow) = minorUnits.addingReportingOverflow(other.minorUnits)
        if overflow { throw .overflow("\(self) + \(other)") }
        return Money(minorUnits: sum, currency: currency)
    }

    /// Subtracts an amount of the same currency.
    /// - Throws: ``MoneyError/currencyMismatch(_:_:)`` or ``MoneyError/overflow(_:)``.
    public func subtracting(_ other: Money) throws(MoneyError) -> Money {
        guard currency == other.currency else { throw .currencyMismatch(currency.code, other.currency.code) }
        let (difference, overflow) = minorUnits.subtractingReportingOverflow(other.minorUnits)
        if overflow { throw .overflow("\(self) - \(other)") }
        return Money(minorUnits: difference, currency: currency)
    }

    /// Orders two amounts of the same currency.
    /// - Throws: ``MoneyError/currencyMismatch(_:_:)``: amounts in different currencies have no order.
    public func isLess(than other: Money) throws(MoneyError) -> Bool {
        guard currency == other.currency else { throw .currencyMismatch(currency.code, other.currency.code) }
        return minorUnits < other.minorUnits
    }
}
