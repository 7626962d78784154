import BankSyncCore
import Foundation
import Testing

@Suite("Time-ordered ids")
struct TimeOrderedIDTests {
    @Test("an id is a lower-case RFC 9562 version 7 UUID carrying its millisecond")
    func format() throws {
        let now = Date(timeIntervalSince1970: 1_790_000_000.123)
        let id = TimeOrderedID.make(now: now)
        let parsed = try #require(UUID(uuidString: id))
        #expect(id == parsed.uuidString.lowercased())
        let bytes = withUnsafeBytes(of: parsed.uuid) { Array($0) }
        #expect(bytes[6] >> 4 == 7)  // version
        #expect(bytes[8] >> 6 == 0b10)  // variant
        let millis = bytes[0..<6].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(millis == 1_790_000_000_123)
    }

    @Test("ids of later milliseconds sort after earlier ones, as text")
    func ordering() {
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        // Two milliseconds apart, so floating-point time cannot put two in one millisecond.
        let ids = (0..<500).map { TimeOrderedID.make(now: start.addingTimeInterval(Double($0) * 0.002)) }
        #expect(ids == ids.sorted())
    }

    @Test("ids minted one after another in one millisecond increase, as text")
    func monotonicWithinMillisecond() {
        // A millisecond later than any other test's clock, so no other test's ids interleave
        // with a later one (which would restart the counter of this one).
        let now = Date(timeIntervalSince1970: 8_000_000_000)
        let ids = (0..<20_000).map { _ in TimeOrderedID.make(now: now) }
        #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 })
        #expect(Set(ids).count == ids.count)
        #expect(Set(ids.map { $0.prefix(13) }).count == 1)  // one millisecond throughout
    }

    @Test("an id minted for an earlier time than the latest still carries its own millisecond")
    func earlierClock() throws {
        _ = TimeOrderedID.make(now: Date(timeIntervalSince1970: 7_000_000_001))
        let id = TimeOrderedID.make(now: Date(timeIntervalSince1970: 1_790_000_000.5))
        let bytes = withUnsafeBytes(of: try #require(UUID(uuidString: id)).uuid) { Array($0) }
        #expect(bytes[0..<6].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } == 1_790_000_000_500)
    }

    @Test("ids minted in one millisecond still differ")
    func uniqueness() {
        let now = Date()
        let ids = (0..<10_000).map { _ in TimeOrderedID.make(now: now) }
        #expect(Set(ids).count == ids.count)
    }

    @Test("a secret is its prefix and 64 hex digits, and never repeats")
    func secret() {
        let secrets = (0..<1_000).map { _ in TimeOrderedID.secret(prefix: "jst_") }
        #expect(Set(secrets).count == secrets.count)
        for secret in secrets.prefix(10) {
            #expect(secret.hasPrefix("jst_"))
            #expect(secret.dropFirst(4).count == 64)
            #expect(secret.dropFirst(4).allSatisfy { "0123456789abcdef".contains($0) })
        }
    }
}

@Suite("Secure random bytes")
struct SecureRandomTests {
    @Test("fills of every size, across buffer refills, are filled and never repeat")
    func fills() {
        var seen: Set<[UInt8]> = []
        for size in [1, 7, 8, 33, 4095, 4096, 4097, 10_000] {
            var bytes = [UInt8](repeating: 0, count: size)
            bytes.withUnsafeMutableBytes { SecureRandom.fill($0) }
            if size >= 33 {
                #expect(bytes.contains { $0 != 0 })
                #expect(seen.insert(bytes).inserted)
            }
        }
    }

    @Test("100,000 bytes use every byte value (a zeroed or stuck buffer would not)")
    func distribution() {
        var bytes = [UInt8](repeating: 0, count: 100_000)
        bytes.withUnsafeMutableBytes { SecureRandom.fill($0) }
        var counts = [Int](repeating: 0, count: 256)
        for byte in bytes { counts[Int(byte)] += 1 }
        #expect(counts.allSatisfy { $0 > 0 })
        // Expected 390.6 per value; a fair source stays well inside 200…600.
        #expect(counts.allSatisfy { (200...600).contains($0) })
    }

    @Test("words drawn concurrently from many tasks are all distinct")
    func concurrent() async {
        let words = await withTaskGroup(of: [UInt64].self) { group in
            for _ in 0..<8 { group.addTask { (0..<500).flatMap { _ in SecureRandom.words(2) } } }
            var all: [UInt64] = []
            for await chunk in group { all += chunk }
            return all
        }
        #expect(words.count == 8_000)
        #expect(Set(words).count == words.count)
    }
}
