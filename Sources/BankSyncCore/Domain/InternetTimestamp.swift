public import Foundation

/// RFC 3339 timestamps in UTC with whole seconds — `2026-11-27T10:55:51Z` — exactly as
/// Foundation's `ISO8601DateFormatter` (`.withInternetDateTime`) writes them, without it.
///
/// Why: the API writes one or two of these per transaction row, and on Linux the formatter
/// took about 7 % of a transactions page's CPU (it goes through CoreFoundation's
/// `CFDateFormatter` and ICU for every call). The arithmetic here is ``CalendarDate``'s.
public enum InternetTimestamp {
    /// The instant's UTC text: rounded to the millisecond, then the fraction of a second dropped
    /// (rounded down, also before 1970).
    /// Instants outside the years 1…9999 are clamped to that range (four digits, as `CalendarDate`).
    public static func string(_ date: Date) -> String {
        // Rounded to the millisecond first, then the fraction dropped, as the formatter does
        // (…50.9998 is …51, -…80.0002 is -…80).
        let milliseconds = (date.timeIntervalSince1970 * 1_000).rounded().clamped(to: -62_135_596_800_000...253_402_300_799_999)
        let seconds = Int((milliseconds / 1_000).rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let ofDay = seconds - days * 86_400
        let calendar = CalendarDate(dayNumber: days)
        return String(unsafeUninitializedCapacity: 20) { buffer in
            calendar.write(into: buffer)
            buffer[10] = UInt8(ascii: "T")
            CalendarDate.writeDigits(ofDay / 3_600, count: 2, into: buffer, at: 11)
            buffer[13] = UInt8(ascii: ":")
            CalendarDate.writeDigits(ofDay / 60 % 60, count: 2, into: buffer, at: 14)
            buffer[16] = UInt8(ascii: ":")
            CalendarDate.writeDigits(ofDay % 60, count: 2, into: buffer, at: 17)
            buffer[19] = UInt8(ascii: "Z")
            return 20
        }
    }

    /// Parses `YYYY-MM-DDTHH:MM:SSZ` (`t` and `z` accepted too, and a `.fraction` of any
    /// length before the zone). Nil for anything else — other offsets included — so a caller
    /// can fall back to a general parser.
    public static func date(_ text: String) -> Date? {
        var copy = text
        return copy.withUTF8 { parse($0) }
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Date? {
        guard bytes.count >= 20 else { return nil }
        func digits(_ from: Int, _ count: Int) -> Int? {
            var value = 0
            for index in from..<(from + count) {
                let byte = bytes[index]
                guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] | 0x20 == UInt8(ascii: "t"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2),
            let hour = digits(11, 2), let minute = digits(14, 2), let second = digits(17, 2),
            hour < 24, minute < 60, second < 60,
            let calendar = try? CalendarDate(year: year, month: month, day: day)
        else { return nil }
        var fraction = 0.0
        var index = 19
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            let start = index
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0") && bytes[index] <= UInt8(ascii: "9") {
                fraction += Double(bytes[index] - UInt8(ascii: "0")) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        guard index == bytes.count - 1, bytes[index] | 0x20 == UInt8(ascii: "z") else { return nil }
        let seconds = calendar.dayNumber * 86_400 + hour * 3_600 + minute * 60 + second
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }
}

extension Double {
    fileprivate func clamped(to range: ClosedRange<Double>) -> Double { Swift.min(Swift.max(self, range.lowerBound), range.upperBound) }
}
