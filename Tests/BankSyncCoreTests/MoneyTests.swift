import BankSyncCore
import Testing

@Suite("Money")
struct MoneyTests {
    let usd = try! Currency(code: "USD")

    @Test(
        "decimal text parses to exact minor units",
        arguments: [
            ("-12.30", "USD", Int64(-1230)), ("45", "USD", 4500), ("+0.5", "USD", 50), (".5", "EUR", 50),
            ("12.300", "USD", 1230), ("0.1", "USD", 10), ("500", "JPY", 500), ("1.234", "KWD", 1234),
            ("-0.001", "BHD", -1), ("1520.33", "GBP", 152_033), ("2500.00", "EUR", 250_000), ("0", "SEK", 0),
            ("1.", "CHF", 100), ("92233720368547758.07", "USD", Int64.max),
        ])
    func parses(text: String, code: String, minor: Int64) throws {
        let money = try Money(parsing: text, currencyCode: code)
        #expect(money.minorUnits == minor)
        #expect(money.currency.code == code)
    }

    @Test(
        "malformed amounts are rejected, never guessed",
        arguments: ["1e2", "", "-", ".", "12.3.4", " 12.30", "12.30 ", "1,234.00", "$12", "12,30", "0x10", "１２", "--1", "NaN"])
    func rejectsMalformed(text: String) {
        #expect(throws: MoneyError.malformedAmount(text)) { try Money(parsing: text, currency: usd) }
    }

    @Test("more fraction digits than the currency has is an error, not a rounding")
    func rejectsExtraPrecision() {
        #expect(throws: MoneyError.tooManyFractionDigits("12.345", currency: "USD", allowed: 2)) {
            try Money(parsing: "12.345", currency: usd)
        }
        #expect(throws: MoneyError.tooManyFractionDigits("500.5", currency: "JPY", allowed: 0)) {
            try Money(parsing: "500.5", currencyCode: "JPY")
        }
    }

    @Test("amounts beyond Int64 minor units overflow with an error")
    func overflow() {
        #expect(throws: MoneyError.overflow("92233720368547758.08")) { try Money(parsing: "92233720368547758.08", currency: usd) }
        #expect(throws: MoneyError.overflow("99999999999999999999999")) { try Money(parsing: "99999999999999999999999", currency: usd) }
    }

    @Test("an unknown currency code is an error naming the code")
    func unknownCurrency() {
        #expect(throws: MoneyError.unknownCurrency("XYZ")) { try Currency(code: "XYZ") }
        #expect(throws: MoneyError.unknownCurrency("")) { try Money(parsing: "1.00", currencyCode: "") }
        #expect(MoneyError.unknownCurrency("XYZ").description.contains("XYZ"))
    }

    @Test(
        "every currency the providers return has its ISO 4217 exponent",
        arguments: [
            ("USD", 2), ("EUR", 2), ("GBP", 2), ("SEK", 2), ("NOK", 2), ("DKK", 2), ("PLN", 2), ("CHF", 2), ("CZK", 2),
            ("HUF", 2), ("JPY", 0), ("KWD", 3), ("CAD", 2), ("ISK", 0), ("RON", 2), ("BGN", 2), ("BHD", 3), ("KRW", 0),
        ])
    func exponents(code: String, exponent: Int) throws {
        #expect(try Currency(code: code).exponent == exponent)
        #expect(try Currency(code: code.lowercased()).code == code)
    }

    @Test("0.1 + 0.2 is exactly 0.3: no floating point on the way")
    func noFloatingPoint() throws {
        let sum = try Money(parsing: "0.1", currency: usd).adding(try Money(parsing: "0.2", currency: usd))
        #expect(sum == (try Money(parsing: "0.3", currency: usd)))
    }

    @Test("formatting writes the currency's precision and round-trips")
    func formatting() throws {
        #expect(try Money(parsing: "-12.3", currency: usd).decimalString == "-12.30")
        #expect(try Money(parsing: "-0.05", currency: usd).decimalString == "-0.05")
        #expect(try Money(parsing: "500", currencyCode: "JPY").description == "500 JPY")
        #expect(try Money(parsing: "1.5", currencyCode: "KWD").decimalString == "1.500")
        for text in ["-12.30", "0.00", "123456.78", "-0.01"] {
            #expect(try Money(parsing: text, currency: usd).decimalString == text)
        }
        #expect(Money(minorUnits: Int64.min, currency: usd).decimalString == "-92233720368547758.08")
    }

    @Test("arithmetic refuses to mix currencies")
    func currencyMismatch() throws {
        let dollars = try Money(parsing: "1.00", currency: usd)
        let euros = try Money(parsing: "1.00", currencyCode: "EUR")
        #expect(throws: MoneyError.currencyMismatch("USD", "EUR")) { try dollars.adding(euros) }
        #expect(throws: MoneyError.currencyMismatch("USD", "EUR")) { try dollars.subtracting(euros) }
        #expect(throws: MoneyError.currencyMismatch("USD", "EUR")) { try dollars.isLess(than: euros) }
        #expect(try dollars.subtracting(dollars) == .zero(usd))
    }

    @Test("addition overflow is an error")
    func additionOverflow() {
        let max = Money(minorUnits: .max, currency: usd)
        #expect(throws: MoneyError.self) { try max.adding(Money(minorUnits: 1, currency: usd)) }
    }

    @Test("negative is money leaving the account")
    func signConvention() throws {
        #expect(try Money(parsing: "-4.50", currency: usd).isOutflow)
        #expect(try !Money(parsing: "4.50", currency: usd).isOutflow)
        // Plaid reports a 4.50 purchase as +4.50: the adapter negates it.
        #expect(try Money(parsing: "4.50", currency: usd).negated.isOutflow)
    }

    @Test("Money and Currency encode as JSON with the code, and unknown codes fail decoding")
    func codable() throws {
        let money = try Money(parsing: "-1.25", currencyCode: "EUR")
        let data = try JSONEncoder().encode(money)
        #expect(String(decoding: data, as: UTF8.self).contains("\"EUR\""))
        #expect(try JSONDecoder().decode(Money.self, from: data) == money)
        let bad = Data(#"{"minorUnits":1,"currency":"ZZZ"}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Money.self, from: bad) }
    }
}

import Foundation
