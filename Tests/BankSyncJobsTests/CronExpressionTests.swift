import BankSyncJobs
import Foundation
import Testing

@Suite("Cron expressions")
struct CronExpressionTests {
    static func date(_ text: String) -> Date {
        let f = ISO8601DateFormatter()
        return f.date(from: text)!
    }

    @Test(
        "next fire times",
        arguments: [
            ("* * * * *", "2026-05-28T10:15:30Z", "2026-05-28T10:16:00Z"),
            ("*/15 * * * *", "2026-05-28T10:15:00Z", "2026-05-28T10:30:00Z"),
            ("0 */6 * * *", "2026-05-28T10:15:00Z", "2026-05-28T12:00:00Z"),
            ("0 2 * * *", "2026-05-28T10:15:00Z", "2026-05-29T02:00:00Z"),
            ("30 9 * * 1-5", "2026-05-29T10:00:00Z", "2026-06-01T09:30:00Z"),  // Fri after 9:30 → Mon
            ("0 0 1 * *", "2026-05-28T10:15:00Z", "2026-06-01T00:00:00Z"),
            ("0 0 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z"),
            ("15,45 8-10 * * *", "2026-05-28T10:45:00Z", "2026-05-29T08:15:00Z"),
            ("0 12 * JAN,jul SUN", "2026-05-28T00:00:00Z", "2026-07-05T12:00:00Z"),
            ("0 0 * * 7", "2026-05-28T00:00:00Z", "2026-05-31T00:00:00Z"),  // 7 is Sunday
            ("0 0 13 * 5", "2026-05-28T00:00:00Z", "2026-05-29T00:00:00Z"),  // day 13 OR Friday
            ("5/20 * * * *", "2026-05-28T10:46:00Z", "2026-05-28T11:05:00Z"),
            ("@hourly", "2026-05-28T10:00:00Z", "2026-05-28T11:00:00Z"),
            ("@weekly", "2026-05-28T10:00:00Z", "2026-05-31T00:00:00Z"),
            ("59 23 31 12 *", "2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z"),
        ])
    func next(expression: String, from: String, expected: String) throws {
        let cron = try CronExpression(expression)
        #expect(cron.next(after: Self.date(from)) == Self.date(expected))
    }

    @Test(
        "latest fire time at or before a moment",
        arguments: [
            ("*/15 * * * *", "2026-05-28T10:29:59Z", "2026-05-28T10:15:00Z"),
            ("*/15 * * * *", "2026-05-28T10:30:00Z", "2026-05-28T10:30:00Z"),
            ("0 2 * * *", "2026-05-28T01:00:00Z", "2026-05-27T02:00:00Z"),
            ("30 9 * * 1-5", "2026-05-31T12:00:00Z", "2026-05-29T09:30:00Z"),
        ])
    func previous(expression: String, at: String, expected: String) throws {
        #expect(try CronExpression(expression).previous(atOrBefore: Self.date(at)) == Self.date(expected))
    }

    @Test(
        "invalid expressions are rejected with the field named",
        arguments: [
            ("60 * * * *", "minute field: 60 is out of range 0-59"),
            ("* 24 * * *", "hour field: 24 is out of range 0-23"),
            ("* * 0 * *", "day-of-month field: 0 is out of range 1-31"),
            ("* * * 13 *", "month field: 13 is out of range 1-12"),
            ("* * * * 8", "day-of-week field: 8 is out of range 0-7"),
            ("* * * FOO *", "month field: 'FOO' is not a number or a name"),
            ("*/0 * * * *", "minute field: step '0' is not a positive number"),
            ("5-1 * * * *", "minute field: range '5-1' runs backwards"),
            ("1,,2 * * * *", "minute field: empty list item"),
            ("* * * *", "expected 5 fields"),
            ("* * * * * *", "found 6"),
            ("", "expected 5 fields"),
        ])
    func invalid(expression: String, message: String) {
        do {
            _ = try CronExpression(expression)
            Issue.record("'\(expression)' was accepted")
        } catch {
            #expect(error.description.contains(message), "\(error.description)")
        }
    }
}
