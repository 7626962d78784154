public import struct Foundation.Date
import Synchronization

/// Mints the ids BankSync stores: RFC 9562 UUID version 7 in lower-case text. The first 48
/// bits are the Unix time in milliseconds; then a 42-bit counter (the 12 bits of `rand_a` and
/// the top 30 of `rand_b`, RFC 9562 §6.2 method 1) that starts at a random value in each new
/// millisecond and counts up within it; the last 32 bits are random.
///
/// Why not `UUID()`: version 4 ids land at random places in a B-tree primary key, so every
/// insert dirties a different page; time-ordered ids append at the right edge (PostgreSQL and
/// SQLite alike). Why the counter: a batch of jobs or transactions is minted in one millisecond,
/// and with random bits there its 20,000 ids still landed at random places in the index (half
/// of PostgreSQL's time in a batched enqueue was B-tree descents and comparisons). And
/// Foundation's `UUID()` reads `/dev/urandom` through a fresh file descriptor on Linux; the
/// random bits here come from ``SecureRandom``, which reads the kernel's CSPRNG in 4 KiB blocks.
///
/// Ids minted one after another increase as text while the clock moves forward or stays in a
/// millisecond. A `now` earlier than the latest millisecond seen (a simulated clock, a clock
/// stepped back) still gets its own millisecond in the id, with a fresh random counter: the
/// timestamp stays honest, only the ordering among such ids is lost.
public enum TimeOrderedID {
    /// The latest millisecond minted and its counter.
    private static let sequence = Mutex<(millis: UInt64, counter: UInt64)>((0, 0))

    /// A new id for `now`.
    public static func make(now: Date = Date()) -> String {
        var random: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &random) { SecureRandom.fill($0) }
        let millis = UInt64(max(0, now.timeIntervalSince1970 * 1000)) & 0xffff_ffff_ffff
        // A fresh counter starts below 2^41: room for 2^41 ids in its millisecond.
        let fresh = random.0 & 0x1ff_ffff_ffff
        let counter = sequence.withLock { state -> UInt64 in
            if millis == state.millis {
                state.counter += 1
                return state.counter
            }
            if millis > state.millis { state = (millis, fresh) }
            return fresh
        }
        let high = (millis << 16) | 0x7000 | (counter >> 30)  // 48-bit time, version 7, counter's top 12 bits
        // variant 10, the counter's low 30 bits, 32 random bits
        let low = 0x8000_0000_0000_0000 | ((counter & 0x3fff_ffff) << 32) | (random.1 & 0xffff_ffff)
        // Written straight into the string's storage (no intermediate arrays): ids are minted
        // once per enqueued job and per stored row.
        return String(unsafeUninitializedCapacity: 36) { text in
            var position = 0
            func append(_ value: UInt64, nibbles: Int) {
                for shift in stride(from: (nibbles - 1) * 4, through: 0, by: -4) {
                    text[position] = ASCIIHex.digit(UInt8((value >> UInt64(shift)) & 0xf))
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
                        text[position] = ASCIIHex.digit(byte >> 4)
                        text[position + 1] = ASCIIHex.digit(byte & 0x0f)
                        position += 2
                    }
                }
                return position
            }
        }
    }

}

/// Lower-case hexadecimal digits as ASCII bytes, for the writers that fill string storage
/// directly (ids, secrets, their hashes, JSON escapes).
public enum ASCIIHex {
    /// The digit for `nibble` (0…15).
    @inlinable @inline(__always) public static func digit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 0x30 + nibble : 0x57 + nibble }
}
