public import Foundation

/// The categories BankSync assigns: Plaid's personal finance categories (16 primary, 104
/// detailed), shipped as `Resources/taxonomy.csv`. A detailed code names its primary
/// (`FOOD_AND_DRINK_COFFEE` → `FOOD_AND_DRINK`); either level is a valid category.
public struct Taxonomy: Sendable {
    /// Detailed code → primary code.
    public let primaryOf: [String: String]
    /// Primary codes, in file order.
    public let primaries: [String]

    /// The taxonomy shipped with BankSync.
    public static let standard: Taxonomy = {
        guard let url = Bundle.module.url(forResource: "taxonomy", withExtension: "csv", subdirectory: "Resources"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { fatalError("the categorizer's taxonomy.csv is missing from the BankSyncCategorizer resources") }
        do { return try Taxonomy(csv: text) } catch { fatalError("the shipped taxonomy.csv is invalid: \(error)") }
    }()

    /// Reads `primary,detailed` rows (a header line first).
    /// - Throws: ``CategorizerError`` naming the line that is not two upper-case codes, or a
    ///   detailed code that does not start with its primary.
    public init(csv: String) throws(CategorizerError) {
        var primaryOf: [String: String] = [:]
        var primaries: [String] = []
        for (index, line) in csv.split(whereSeparator: \.isNewline).enumerated() where index > 0 {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 2, fields.allSatisfy(Self.isCode), fields[1].hasPrefix(fields[0] + "_") else {
                throw .invalidData("taxonomy line \(index + 1) is not \"PRIMARY,PRIMARY_DETAILED\": \(line)")
            }
            if !primaries.contains(fields[0]) { primaries.append(fields[0]) }
            primaryOf[fields[1]] = fields[0]
        }
        guard !primaries.isEmpty else { throw .invalidData("the taxonomy has no categories") }
        self.primaryOf = primaryOf
        self.primaries = primaries
    }

    static func isCode(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || $0 == UInt8(ascii: "_") }
    }

    /// True for a primary or a detailed code of this taxonomy.
    public func contains(_ code: String) -> Bool { primaryOf[code] != nil || primaries.contains(code) }

    /// The primary of a code (itself for a primary), or nil for an unknown code.
    public func primary(of code: String) -> String? { primaries.contains(code) ? code : primaryOf[code] }

    /// Teller's `details.category` words, mapped to the taxonomy (Teller documents this list).
    public static let teller: [String: String] = [
        "accommodation": "TRAVEL_LODGING", "advertising": "GENERAL_SERVICES_OTHER_GENERAL_SERVICES", "bar": "FOOD_AND_DRINK_BEER_WINE_AND_LIQUOR",
        "charity": "GOVERNMENT_AND_NON_PROFIT_DONATIONS", "clothing": "GENERAL_MERCHANDISE_CLOTHING_AND_ACCESSORIES",
        "dining": "FOOD_AND_DRINK_RESTAURANT", "education": "GENERAL_SERVICES_EDUCATION", "electronics": "GENERAL_MERCHANDISE_ELECTRONICS",
        "entertainment": "ENTERTAINMENT", "fuel": "TRANSPORTATION_GAS", "general": "GENERAL_MERCHANDISE", "groceries": "FOOD_AND_DRINK_GROCERIES",
        "health": "MEDICAL", "home": "HOME_IMPROVEMENT", "income": "INCOME", "insurance": "GENERAL_SERVICES_INSURANCE",
        "investment": "TRANSFER_OUT_INVESTMENT_AND_RETIREMENT_FUNDS", "loan": "LOAN_PAYMENTS", "office": "GENERAL_MERCHANDISE_OFFICE_SUPPLIES",
        "phone": "RENT_AND_UTILITIES_TELEPHONE", "service": "GENERAL_SERVICES", "shopping": "GENERAL_MERCHANDISE",
        "software": "GENERAL_MERCHANDISE_ELECTRONICS", "sport": "ENTERTAINMENT_SPORTING_EVENTS_AMUSEMENT_PARKS_AND_MUSEUMS",
        "tax": "GOVERNMENT_AND_NON_PROFIT_TAX_PAYMENT", "transport": "TRANSPORTATION", "transportation": "TRANSPORTATION",
        "utilities": "RENT_AND_UTILITIES",
    ]

    /// The taxonomy's code for a provider's own category, or nil when it has none (an unknown
    /// word, a bank's proprietary code): Plaid's `PRIMARY/DETAILED` is already ours; Teller's
    /// words map through ``teller``.
    public func code(forProviderCategory category: String) -> String? {
        if let slash = category.firstIndex(of: "/") {
            let detailed = String(category[category.index(after: slash)...])
            if primaryOf[detailed] != nil { return detailed }
            let primary = String(category[..<slash])
            return primaries.contains(primary) ? primary : nil
        }
        if contains(category) { return category }
        if let mapped = Self.teller[category.lowercased()], contains(mapped) { return mapped }
        return nil
    }
}

/// Why the categorizer could not do what was asked.
public enum CategorizerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Input data (a CSV, a taxonomy) that cannot be used, with the line or field.
    case invalidData(String)
    /// A weights file that cannot be loaded, with its path and what is wrong.
    case corruptWeights(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidData(let message): message
        case .corruptWeights(let path, let reason): "the categorizer weights file \(path) cannot be loaded: \(reason)"
        }
    }
}
