import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Random bytes from the operating system's CSPRNG, read 4 KiB at a time.
///
/// `SystemRandomNumberGenerator` (and swift-crypto's key generation, which uses it) makes one
/// `getrandom` system call per 8 bytes. Minting an id and an access token per job took six,
/// and on the sandboxed hosts BankSync runs on a system call costs over a microsecond: half of a
/// batched enqueue's time went there. This reads `/dev/urandom` (the same kernel CSPRNG as
/// `getrandom`) into a buffer and hands bytes out under a lock, zeroing what it hands out.
/// If the device cannot be opened it falls back to `SystemRandomNumberGenerator`.
///
/// A forked child would share the parent's unused buffer; BankSync never forks (child
/// processes are spawned, which starts a new image).
public enum SecureRandom {
    private struct Pool: ~Copyable {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var position = 4096
        var descriptor: Int32 = -2  // -2: not opened yet; -1: unavailable

        mutating func refill() -> Bool {
            if descriptor == -2 { descriptor = open("/dev/urandom", O_RDONLY | O_CLOEXEC) }
            guard descriptor >= 0 else { return false }
            var filled = 0
            while filled < buffer.count {
                let n = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
                if n > 0 {
                    filled += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return false
                }
            }
            position = 0
            return true
        }
    }

    private static let pool = Mutex(Pool())

    /// Fills `destination` with random bytes.
    public static func fill(_ destination: UnsafeMutableRawBufferPointer) {
        var offset = 0
        let complete = pool.withLock { pool -> Bool in
            while offset < destination.count {
                if pool.position == pool.buffer.count, !pool.refill() { return false }
                let take = min(destination.count - offset, pool.buffer.count - pool.position)
                pool.buffer.withUnsafeMutableBytes { source in
                    let from = source.baseAddress! + pool.position
                    (destination.baseAddress! + offset).copyMemory(from: from, byteCount: take)
                    from.initializeMemory(as: UInt8.self, repeating: 0, count: take)
                }
                pool.position += take
                offset += take
            }
            return true
        }
        if !complete {
            var generator = SystemRandomNumberGenerator()
            for index in offset..<destination.count { destination[index] = UInt8.random(in: .min ... .max, using: &generator) }
        }
    }

    /// `count` random 64-bit words.
    public static func words(_ count: Int) -> [UInt64] {
        var words = [UInt64](repeating: 0, count: count)
        words.withUnsafeMutableBytes { fill($0) }
        return words
    }
}
