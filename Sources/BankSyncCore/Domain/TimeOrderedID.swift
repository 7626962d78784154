public import struct Foundation.Date

/// Mints the ids BankSync stores: RFC 9562 UUID version 7 in lower-case text. The first 48
/// bits are the Unix time in milliseconds, the remaining 74 free bits come from the system's
/// secure random source.
///
/// Why not `UUID()`: version 4 ids land at random places in a B-tree primary key, so every
/// insert dirties a different page; time-ordered ids append at the right edge (PostgreSQL and
/// SQLite alike). And Foundation's `UUID()` reads `/dev/urandom` through a fresh file
/// descriptor on Linux, which showed up as 5 % of a batched enqueue's profile; its random bits come
/// from ``SecureRandom``, which reads the kernel's CSPRNG in 4 KiB blocks instead of making a
/// system call per word.
public enum TimeOrderedID {
    private static let digits = Array("0123456789abcdef".utf8)

    /// A new id for `now`. Ids minted in the same millisecond are not ordered among themselves.
    public static func make(now: Date = Date()) -> String {
        let random = randomWords(2)
        let millis = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        let high = (millis << 16) | 0x7000 | (random[0] & 0x0fff)  // 48-bit time, version 7, 12 random bits
        let low = (random[1] & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000  // variant 10, 62 random bits
        var text = [UInt8]()
        text.reserveCapacity(36)
        func append(_ value: UInt64, nibbles: Int) {
            for shift in stride(from: (nibbles - 1) * 4, through: 0, by: -4) {
                text.append(digits[Int((value >> UInt64(shift)) & 0xf)])
            }
        }
        append(high >> 32, nibbles: 8)
        text.append(UInt8(ascii: "-"))
        append((high >> 16) & 0xffff, nibbles: 4)
        text.append(UInt8(ascii: "-"))
        append(high & 0xffff, nibbles: 4)
        text.append(UInt8(ascii: "-"))
        append(low >> 48, nibbles: 4)
        text.append(UInt8(ascii: "-"))
        append(low & 0xffff_ffff_ffff, nibbles: 12)
        return String(decoding: text, as: UTF8.self)
    }

    /// `prefix` followed by 64 lower-case hex digits (256 bits) from the secure random source:
    /// bearer secrets such as job access tokens and API keys.
    public static func secret(prefix: String) -> String {
        var text = Array(prefix.utf8)
        text.reserveCapacity(text.count + 64)
        for word in randomWords(4) {
            for shift in stride(from: 60, through: 0, by: -4) { text.append(digits[Int((word >> UInt64(shift)) & 0xf)]) }
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static func randomWords(_ count: Int) -> [UInt64] { SecureRandom.words(count) }
}
