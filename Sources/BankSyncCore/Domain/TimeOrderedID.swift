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
    /// A new id for `now`. Ids minted in the same millisecond are not ordered among themselves.
    public static func make(now: Date = Date()) -> String {
        var random: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &random) { SecureRandom.fill($0) }
        let millis = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        let high = (millis << 16) | 0x7000 | (random.0 & 0x0fff)  // 48-bit time, version 7, 12 random bits
        let low = (random.1 & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000  // variant 10, 62 random bits
        // Written straight into the string's storage (no intermediate arrays): ids are minted
        // once per enqueued job and per stored row.
        return String(unsafeUninitializedCapacity: 36) { text in
            var position = 0
            func append(_ value: UInt64, nibbles: Int) {
                for shift in stride(from: (nibbles - 1) * 4, through: 0, by: -4) {
                    text[position] = hexDigit(UInt8((value >> UInt64(shift)) & 0xf))
                    position += 1
                }
            }
            func dash() {
                text[position] = UInt8(ascii: "-")
                position += 1
            }
            append(high >> 32, nibbles: 8)
            dash()
            append((high >> 16) & 0xffff, nibbles: 4)
            dash()
            append(high & 0xffff, nibbles: 4)
            dash()
            append(low >> 48, nibbles: 4)
            dash()
            append(low & 0xffff_ffff_ffff, nibbles: 12)
            return position
        }
    }

    /// `prefix` followed by 64 lower-case hex digits (256 bits) from the secure random source:
    /// bearer secrets such as job access tokens and API keys.
    public static func secret(prefix: String) -> String {
        var random: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &random) { SecureRandom.fill($0) }
        var prefix = prefix
        return prefix.withUTF8 { head in
            String(unsafeUninitializedCapacity: head.count + 64) { text in
                var position = 0
                for byte in head {
                    text[position] = byte
                    position += 1
                }
                withUnsafeBytes(of: &random) { bytes in
                    for byte in bytes {
                        text[position] = hexDigit(byte >> 4)
                        text[position + 1] = hexDigit(byte & 0x0f)
                        position += 2
                    }
                }
                return position
            }
        }
    }

    @inline(__always) static func hexDigit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 0x30 + nibble : 0x57 + nibble }
}
