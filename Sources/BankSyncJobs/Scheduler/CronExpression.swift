public import Foundation

/// A standard 5-field cron expression, evaluated in UTC:
/// `minute hour day-of-month month day-of-week`.
///
/// Each field takes `*`, a value, a range `a-b`, a step `*/n` or `a-b/n` or `a/n`, and
/// comma-separated lists of these. Months may be `JAN`–`DEC`, weekdays `SUN`–`SAT` (0 and 7
/// are Sunday). As in Vixie cron, when both day-of-month and day-of-week are restricted, a
/// day matching either fires. The macros `@yearly`, `@annually`, `@monthly`, `@weekly`,
/// `@daily`, `@midnight` and `@hourly` are accepted.
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    public let text: String
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    let daysOfWeek: Set<Int>
    let domRestricted: Bool
    let dowRestricted: Bool

    /// A field of a cron expression, for error messages.
    public enum Field: String, Sendable, CaseIterable {
        case minute, hour, dayOfMonth = "day-of-month", month, dayOfWeek = "day-of-week"

        var range: ClosedRange<Int> {
            switch self {
            case .minute: return 0...59
            case .hour: return 0...23
            case .dayOfMonth: return 1...31
            case .month: return 1...12
            case .dayOfWeek: return 0...7
            }
        }

        var names: [String: Int] {
            switch self {
            case .month:
                return ["JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12]
            case .dayOfWeek: return ["SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6]
            default: return [:]
            }
        }
    }

    /// Why an expression was rejected; the message names the field and the offending part.
    public struct ParseError: Error, Equatable, CustomStringConvertible, Sendable {
        public let expression: String
        public let field: Field?
        public let reason: String

        public var description: String {
            if let field { return "invalid cron expression '\(expression)': \(field.rawValue) field: \(reason)" }
            return "invalid cron expression '\(expression)': \(reason)"
        }
    }

    static let macros = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]

    /// Parses an expression.
    /// - Throws: ``ParseError`` naming the bad field.
    public init(_ text: String) throws(ParseError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let expanded = Self.macros[trimmed.lowercased()] ?? trimmed
        let parts = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard parts.count == 5 else {
            throw ParseError(expression: text, field: nil, reason: "expected 5 fields (minute hour day-of-month month day-of-week), found \(parts.count)")
        }
        self.text = text
        minutes = try Self.parse(parts[0], .minute, expression: text)
        hours = try Self.parse(parts[1], .hour, expression: text)
        daysOfMonth = try Self.parse(parts[2], .dayOfMonth, expression: text)
        months = try Self.parse(parts[3], .month, expression: text)
        var dow = try Self.parse(parts[4], .dayOfWeek, expression: text)
        if dow.remove(7) != nil { dow.insert(0) }
        daysOfWeek = dow
        domRestricted = !parts[2].hasPrefix("*")
        dowRestricted = !parts[4].hasPrefix("*")
    }

    public var description: String { text }

    private static func parse(_ text: String, _ field: Field, expression: String) throws(ParseError) -> Set<Int> {
        func fail(_ reason: String) -> ParseError { ParseError(expression: expression, field: field, reason: reason) }
        func value(_ token: String) throws(ParseError) -> Int {
            if let number = Int(token), token.allSatisfy(\.isASCII) {
                guard field.range.contains(number) else {
                    throw fail("\(number) is out of range \(field.range.lowerBound)-\(field.range.upperBound)")
                }
                return number
            }
            if let named = field.names[token.uppercased()] { return named }
            throw fail("'\(token)' is not a number\(field.names.isEmpty ? "" : " or a name")")
        }
        var result: Set<Int> = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            guard !item.isEmpty else { throw fail("empty list item in '\(text)'") }
            let stepParts = item.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard stepParts.count <= 2 else { throw fail("'\(item)' has more than one '/'") }
            var step = 1
            if stepParts.count == 2 {
                guard let parsed = Int(stepParts[1]), parsed > 0 else { throw fail("step '\(stepParts[1])' is not a positive number") }
                step = parsed
            }
            let base = stepParts[0]
            var low: Int
            var high: Int
            if base == "*" {
                low = field.range.lowerBound
                high = field == .dayOfWeek ? 6 : field.range.upperBound
            } else if let dash = base.firstIndex(of: "-") {
                low = try value(String(base[..<dash]))
                high = try value(String(base[base.index(after: dash)...]))
                guard low <= high else { throw fail("range '\(base)' runs backwards") }
            } else {
                low = try value(base)
                // `a/n` means from a to the end of the range.
                high = stepParts.count == 2 ? (field == .dayOfWeek ? 6 : field.range.upperBound) : low
            }
            var v = low
            while v <= high {
                result.insert(v)
                v += step
            }
        }
        return result
    }

    /// The first fire time strictly after `date`.
    public func next(after date: Date) -> Date? {
        var start = Self.utc.dateComponents([.year, .month, .day, .hour, .minute], from: date.addingTimeInterval(60))
        start.second = 0
        guard var day = Self.utc.date(from: DateComponents(year: start.year, month: start.month, day: start.day)) else { return nil }
        // Five years covers every valid expression (Feb 29 on a given weekday included).
        for offset in 0..<(366 * 5) {
            if offset > 0 { day = day.addingTimeInterval(86_400) }
            let c = Self.utc.dateComponents([.year, .month, .day, .weekday], from: day)
            guard matchesDay(month: c.month!, day: c.day!, weekday: c.weekday! - 1) else { continue }
            let firstDay = offset == 0
            for hour in hours.sorted() where !firstDay || hour >= start.hour! {
                for minute in minutes.sorted() where !(firstDay && hour == start.hour!) || minute >= start.minute! {
                    return day.addingTimeInterval(Double(hour * 3600 + minute * 60))
                }
            }
        }
        return nil
    }

    /// The latest fire time at or before `date`.
    public func previous(atOrBefore date: Date) -> Date? {
        let end = Self.utc.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        guard var day = Self.utc.date(from: DateComponents(year: end.year, month: end.month, day: end.day)) else { return nil }
        for offset in 0..<(366 * 5) {
            if offset > 0 { day = day.addingTimeInterval(-86_400) }
            let c = Self.utc.dateComponents([.year, .month, .day, .weekday], from: day)
            guard matchesDay(month: c.month!, day: c.day!, weekday: c.weekday! - 1) else { continue }
            let lastDay = offset == 0
            for hour in hours.sorted(by: >) where !lastDay || hour <= end.hour! {
                for minute in minutes.sorted(by: >) where !(lastDay && hour == end.hour!) || minute <= end.minute! {
                    return day.addingTimeInterval(Double(hour * 3600 + minute * 60))
                }
            }
        }
        return nil
    }

    func matchesDay(month: Int, day: Int, weekday: Int) -> Bool {
        guard months.contains(month) else { return false }
        switch (domRestricted, dowRestricted) {
        case (true, true): return daysOfMonth.contains(day) || daysOfWeek.contains(weekday)
        case (true, false): return daysOfMonth.contains(day)
        case (false, true): return daysOfWeek.contains(weekday)
        case (false, false): return true
        }
    }

    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}
