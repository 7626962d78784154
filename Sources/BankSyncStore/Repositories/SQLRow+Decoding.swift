import BankSyncCore
import Foundation
import SQLKit

/// Typed column reads that turn a bad stored value into a ``StoreError`` naming the column.
extension SQLRow {
    func text(_ column: String) throws -> String { try decode(column: column, as: String.self) }
    func optionalText(_ column: String) throws -> String? { try decode(column: column, as: String?.self) }
    func int64(_ column: String) throws -> Int64 { try decode(column: column, as: Int64.self) }
    func optionalInt64(_ column: String) throws -> Int64? { try decode(column: column, as: Int64?.self) }
    func int(_ column: String) throws -> Int { try decode(column: column, as: Int.self) }

    func instant(_ column: String) throws -> Date { Date(millisecondsSince1970: try int64(column)) }
    func optionalInstant(_ column: String) throws -> Date? { try optionalInt64(column).map(Date.init(millisecondsSince1970:)) }

    func calendarDate(_ column: String) throws -> CalendarDate {
        let raw = try text(column)
        do { return try CalendarDate(parsing: raw) } catch {
            throw StoreError(.invalidData, "column \(column) holds an invalid date '\(raw)'")
        }
    }

    func optionalCalendarDate(_ column: String) throws -> CalendarDate? {
        guard let raw = try optionalText(column) else { return nil }
        do { return try CalendarDate(parsing: raw) } catch {
            throw StoreError(.invalidData, "column \(column) holds an invalid date '\(raw)'")
        }
    }

    func currency(_ column: String) throws -> Currency {
        let raw = try text(column)
        do { return try Currency(code: raw) } catch {
            throw StoreError(.invalidData, "column \(column) holds an unknown currency '\(raw)'")
        }
    }

    func enumValue<E: RawRepresentable>(_ column: String, as type: E.Type) throws -> E where E.RawValue == String {
        let raw = try text(column)
        guard let value = E(rawValue: raw) else {
            throw StoreError(.invalidData, "column \(column) holds an unknown \(E.self) '\(raw)'")
        }
        return value
    }

    func identifier<T>(_ column: String) throws -> Identifier<T> { Identifier(try text(column)) }
}

extension Optional where Wrapped == Date {
    var milliseconds: Int64? { self?.millisecondsSince1970 }
}
