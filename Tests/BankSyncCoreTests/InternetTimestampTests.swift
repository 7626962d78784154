import BankSyncCore
import Foundation
import Testing

@Suite("InternetTimestamp: RFC 3339 UTC text without ISO8601DateFormatter")
struct InternetTimestampTests {

    @Test("writes what ISO8601DateFormatter writes, for instants across four centuries, before 1970 and with fractions")
    func matchesFoundation() {
        let formatter = ISO8601DateFormatter()
        var random = SystemRandomNumberGenerator()
        var instants: [Double] = [0, -1, -0.5, 0.999, 86_399.999, 951_782_400, 1_780_011_000, -2_208_988_800, 4_102_444_799, 253_402_300_799]
        for _ in 0..<5_000 { instants.append(Double.random(in: -6_000_000_000...8_000_000_000, using: &random)) }
        var mismatches: [String] = []
        for seconds in instants {
            let date = Date(timeIntervalSince1970: seconds)
            let ours = InternetTimestamp.string(date)
            let theirs = formatter.string(from: date)
            if ours != theirs { mismatches.append("\(seconds): \(ours) vs \(theirs)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test("reads its own text back, fractions and lower-case t/z too")
    func parses() throws {
        for seconds in [0.0, -1, 1_780_011_000, -2_208_988_800, 253_402_300_799] {
            let text = InternetTimestamp.string(Date(timeIntervalSince1970: seconds))
            #expect(InternetTimestamp.date(text) == Date(timeIntervalSince1970: seconds), "\(text)")
        }
        let fractional = try #require(InternetTimestamp.date("2026-11-27t10:55:51.250z"))
        #expect(abs(fractional.timeIntervalSince1970 - 1_795_776_951.25) < 1e-6)
    }

    @Test(
        "anything but YYYY-MM-DDTHH:MM:SS[.f]Z is nil (so callers can fall back)",
        arguments: [
            "", "2026-11-27", "2026-11-27T10:55:51", "2026-11-27T10:55:51+01:00", "2026-11-27 10:55:51Z", "2026-02-30T00:00:00Z",
            "2026-11-27T24:00:00Z", "2026-11-27T10:60:00Z", "2026-11-27T10:55:51.Z", "2026-11-27T10:55:51ZZ", "２０２６-11-27T10:55:51Z",
        ])
    func rejects(text: String) {
        #expect(InternetTimestamp.date(text) == nil)
    }

    @Test("instants past year 9999 or before year 1 are clamped, never a crash")
    func clamps() {
        #expect(InternetTimestamp.string(Date(timeIntervalSince1970: 1e15)) == "9999-12-31T23:59:59Z")
        #expect(InternetTimestamp.string(Date(timeIntervalSince1970: -1e15)) == "0001-01-01T00:00:00Z")
    }
}
