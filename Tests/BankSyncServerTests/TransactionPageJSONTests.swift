import BankSyncAPI
import BankSyncCore
@testable import BankSyncServer
import Foundation
import Testing

@Suite("The transactions page written directly, against the generated types")
struct TransactionPageJSONTests {
    static let at = Date(timeIntervalSince1970: 1_795_776_951)

    static func row(_ description: String, category: CategoryAssignment?, note: String?, removed: Bool, currency: String, minor: Int64) -> Transaction {
        Transaction(
            accountID: "acct-1", userID: "user-1", providerTransactionID: UUID().uuidString, status: removed ? .pending : .posted,
            amount: Money(minorUnits: minor, currency: try! Currency(code: currency)), date: try! CalendarDate(parsing: "2026-11-27"),
            authorizedDate: removed ? try! CalendarDate(parsing: "2026-11-25") : nil, description: description,
            merchantName: removed ? nil : "Caf\u{E9} \"Zero\"", counterparty: removed ? "IBAN DE89…" : nil,
            providerCategory: removed ? "FOOD_AND_DRINK" : nil, category: category, pendingTransactionID: removed ? "pend-\\1" : nil,
            removedAt: removed ? at.addingTimeInterval(-86_400 * 400) : nil, categoryNote: note, createdAt: at.addingTimeInterval(-1))
    }

    @Test("every member, escapes, scripts and emoji decode to exactly what APIHandler.transaction maps for the generated encoder")
    func sameAsGenerated() throws {
        let rows = [
            Self.row("SQ *BLUE BOTTLE \"0412\"\\ \n\t\u{1} ☕️ 東京 مرحبا", category: CategoryAssignment(category: "FOOD_AND_DRINK_COFFEE", confidence: 0.123456789, source: .model), note: "model 0.12 under 0.5\u{7F}", removed: false, currency: "USD", minor: -1_250),
            Self.row("", category: CategoryAssignment(category: "TRAVEL", confidence: 1, source: .user), note: nil, removed: true, currency: "JPY", minor: 1_000),
            Self.row("plain", category: nil, note: nil, removed: false, currency: "BHD", minor: -12_345),
        ]
        let bytes = TransactionPageJSON.write(rows, nextCursor: "MjAyNi0xMS0yN3x4")
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let page = try decoder.decode(Components.Schemas.TransactionPage.self, from: Data(bytes))
        #expect(page.nextCursor == "MjAyNi0xMS0yN3x4")
        #expect(page.data == rows.map(APIHandler.transaction))
        let empty = try decoder.decode(Components.Schemas.TransactionPage.self, from: Data(TransactionPageJSON.write([], nextCursor: nil)))
        #expect(empty.data.isEmpty && empty.nextCursor == nil)
        #expect(String(decoding: TransactionPageJSON.write([], nextCursor: nil), as: UTF8.self) == #"{"data":[]}"#)
    }
}
