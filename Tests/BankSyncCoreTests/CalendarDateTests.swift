import BankSyncCore
import Foundation
import Testing

@Suite("CalendarDate")
struct CalendarDateTests {
    @Test("ISO dates parse and print back", arguments: ["2026-01-05", "2024-02-29", "1999-12-31"])
    func roundTrip(text: String) throws {
        #expect(try CalendarDate(parsing: text).description == text)
    }

    @Test(
        "impossible or malformed dates are rejected",
        arguments: [
            "2026-02-29", "2026-13-01", "2026-04-31", "2026-1-5", "20260105", "2026-01-05T00:00:00Z", "", "abcd-ef-gh", "2026-00-10", "0000-01-01",
            "2026-01-00", "2026/01/05", "+026-01-05", "2026-01-0٥", "２０２６-01-05", "2026-01-05 ",
        ])
    func rejects(text: String) {
        #expect(throws: DomainError.invalidDate(text)) { try CalendarDate(parsing: text) }
    }

    @Test("dates order chronologically and take the UTC day of an instant")
    func ordering() throws {
        #expect(try CalendarDate(parsing: "2025-12-31") < CalendarDate(parsing: "2026-01-01"))
        // 2026-05-28T23:30:00Z is still the 28th in UTC.
        #expect(CalendarDate(Date(timeIntervalSince1970: 1_780_011_000)).description == "2026-05-28")
        // Midnight belongs to the new day; before 1970 too.
        #expect(CalendarDate(Date(timeIntervalSince1970: 1_779_926_400)).description == "2026-05-28")
        #expect(CalendarDate(Date(timeIntervalSince1970: 1_779_926_399.999)).description == "2026-05-27")
        #expect(CalendarDate(Date(timeIntervalSince1970: -1)).description == "1969-12-31")
    }

    @Test("every day of four centuries prints and parses back through its day number")
    func dayNumbers() throws {
        for number in stride(from: -150_000, to: 150_000, by: 7) {
            let date = CalendarDate(dayNumber: number)
            #expect(date.dayNumber == number)
            #expect(try CalendarDate(parsing: date.description) == date)
        }
    }
}
