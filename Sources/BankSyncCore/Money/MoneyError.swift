/// Why an amount could not be parsed or combined.
///
/// Every case names the offending input so a caller can report it; none carries account data.
public enum MoneyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The code is not an ISO 4217 currency this build knows.
    case unknownCurrency(String)
    /// The text is not a plain decimal number (`-12.30`, `45`, `+0.5`). Exponents, spaces,
    /// thousands separators and non-ASCII digits are rejected.
    case malformedAmount(String)
    /// The text has more fractional digits than the currency's exponent allows and the extra
    /// digits are not all zero ("12.345" for USD). Rounding money silently is never done.
    case tooManyFractionDigits(String, currency: String, allowed: Int)
    /// The amount does not fit in `Int64` minor units.
    case overflow(String)
    /// Two amounts in different currencies were combined.
    case currencyMismatch(String, String)

    public var description: String {
        switch self {
        case .unknownCurrency(let code):
            return "unknown currency code '\(code)': expected an ISO 4217 code such as USD, EUR or GBP"
        case .malformedAmount(let text):
            return "malformed amount '\(text)': expected a decimal number such as -12.30"
        case .tooManyFractionDigits(let text, let currency, let allowed):
            return "amount '\(text)' has more than \(allowed) fraction digit(s), the precision of \(currency)"
        case .overflow(let text):
            return "amount '\(text)' is too large to store"
        case .currencyMismatch(let lhs, let rhs):
            return "cannot combine amounts in \(lhs) and \(rhs)"
        }
    }
}
