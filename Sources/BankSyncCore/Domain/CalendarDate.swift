public import Foundation

/// A calendar date with no time and no time zone, as banks report posting dates: `2026-01-05`.
///
/// Stored and exchanged as ISO 8601 `YYYY-MM-DD` text, which sorts in date order.
public struct CalendarDate: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Creates a date, validating the day against the month (leap years included).
    /// - Throws: ``DomainError/invalidDate(_:)``.
    public init(year: Int, month: Int, day: Int) throws(DomainError) {
        guard (1...9999).contains(year), (1...12).contains(month),
            (1...CalendarDate.daysIn(month: month, year: year)).contains(day)
        else { throw .invalidDate("\(year)-\(month)-\(day)") }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD` exactly.
    /// - Throws: ``DomainError/invalidDate(_:)`` naming the text.
    public init(parsing text: String) throws(DomainError) {
        // Byte by byte: this runs for every row of every provider page.
        let parsed = text.utf8.withContiguousStorageIfAvailable { Self.parse($0) } ?? Self.parse(Array(text.utf8)[...])
        guard let (y, m, d) = parsed else { throw .invalidDate(text) }
        do { try self.init(year: y, month: m, day: d) } catch { throw .invalidDate(text) }
    }

    /// (year, month, day) from exactly `DDDD-DD-DD` ASCII digits, else nil.
    private static func parse<C: Collection>(_ bytes: C) -> (Int, Int, Int)? where C.Element == UInt8, C.Index == Int {
        guard bytes.count == 10 else { return nil }
        let base = bytes.startIndex
        func digits(_ from: Int, _ count: Int) -> Int? {
            var value = 0
            for offset in from..<(from + count) {
                let byte = bytes[base + offset]
                guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard bytes[base + 4] == UInt8(ascii: "-"), bytes[base + 7] == UInt8(ascii: "-"),
            let y = digits(0, 4), let m = digits(5, 2), let d = digits(8, 2)
        else { return nil }
        return (y, m, d)
    }

    /// The UTC calendar date of an instant.
    public init(_ date: Date) {
        self.init(dayNumber: Int((date.timeIntervalSince1970 / 86_400).rounded(.down)))
    }

    /// `YYYY-MM-DD`.
    public var description: String {
        String(unsafeUninitializedCapacity: 10) { buffer in
            write(into: buffer)
            return 10
        }
    }

    /// Writes `YYYY-MM-DD` into the first ten bytes of `buffer`.
    func write(into buffer: UnsafeMutableBufferPointer<UInt8>) {
        Self.writeDigits(year, count: 4, into: buffer, at: 0)
        buffer[4] = UInt8(ascii: "-")
        Self.writeDigits(month, count: 2, into: buffer, at: 5)
        buffer[7] = UInt8(ascii: "-")
        Self.writeDigits(day, count: 2, into: buffer, at: 8)
    }

    /// The last `count` decimal digits of `value` (not negative), zero-padded, at `offset`.
    static func writeDigits(_ value: Int, count: Int, into buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        var rest = value
        for index in stride(from: offset + count - 1, through: offset, by: -1) {
            buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        }
    }

    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do { try self.init(parsing: text) } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
