/// A bank-data aggregator BankSync can link through.
public enum Provider: String, Sendable, Codable, CaseIterable, Hashable {
    case plaid
    case teller
    case gocardless
}
