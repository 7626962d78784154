public import Crypto
public import Foundation

/// The set of AES-256 keys that protect provider tokens at rest, with one marked active.
///
/// New ciphertext is always sealed with the active key; older keys stay in the ring so what
/// they sealed can still be read until `banksync keys rotate` re-encrypts it.
public struct Keyring: Sendable {
    /// The id of the key new ciphertext is sealed with.
    public let activeKeyID: String
    /// Raw key bytes (`SymmetricKey` is not `Sendable`; a key is rebuilt per use, which is cheap).
    let keys: [String: Data]

    /// - Throws: ``StoreError`` `.missingKey` if the ring is empty or `activeKeyID` is not in it.
    public init(keys: [String: SymmetricKey], activeKeyID: String) throws(StoreError) {
        guard !keys.isEmpty else { throw StoreError(.missingKey, "no encryption keys configured") }
        guard keys[activeKeyID] != nil else {
            throw StoreError(
                .missingKey,
                "active encryption key id '\(activeKeyID)' is not among the configured keys (\(keys.keys.sorted().joined(separator: ", ")))"
            )
        }
        for (id, key) in keys {
            guard Keyring.isValidKeyID(id) else {
                throw StoreError(.missingKey, "encryption key id '\(id)' is invalid: use letters, digits, '-' or '_' (1-64 characters)")
            }
            guard key.bitCount == 256 else {
                throw StoreError(.missingKey, "encryption key '\(id)' is \(key.bitCount / 8) bytes: expected 32 bytes (AES-256), base64-encoded")
            }
        }
        self.keys = keys.mapValues { key in key.withUnsafeBytes { Data($0) } }
        self.activeKeyID = activeKeyID
    }

    /// Parses `id:base64key[,id:base64key…]`, as `BANKSYNC_ENCRYPTION_KEYS` holds them.
    /// With no `activeKeyID`, the last key listed is active.
    /// - Throws: ``StoreError`` `.missingKey` naming the malformed entry (never the key material).
    public init(parsing spec: String, activeKeyID: String?) throws(StoreError) {
        var keys: [String: SymmetricKey] = [:]
        var last: String?
        for (index, entry) in spec.split(separator: ",").enumerated() {
            let parts = entry.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else {
                throw StoreError(.missingKey, "encryption key entry #\(index + 1) is not 'id:base64key'")
            }
            let id = String(parts[0]).trimmingWhitespace
            guard keys[id] == nil else { throw StoreError(.missingKey, "encryption key id '\(id)' is listed twice") }
            guard let data = Data(base64Encoded: String(parts[1]).trimmingWhitespace) else {
                throw StoreError(.missingKey, "encryption key '\(id)' is not valid base64")
            }
            keys[id] = SymmetricKey(data: data)
            last = id
        }
        guard let active = activeKeyID ?? last else { throw StoreError(.missingKey, "no encryption keys configured") }
        try self.init(keys: keys, activeKeyID: active)
    }

    /// The ids of every key in the ring, sorted.
    public var keyIDs: [String] { keys.keys.sorted() }

    func key(id: String) -> SymmetricKey? { keys[id].map { SymmetricKey(data: $0) } }

    /// A fresh random 256-bit key.
    public static func generateKey() -> SymmetricKey { SymmetricKey(size: .bits256) }

    /// A fresh random key as base64, as `BANKSYNC_ENCRYPTION_KEYS` takes it.
    public static func generateKeyBase64() -> String {
        generateKey().withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// A fresh key id: `k` + UTC date + random suffix, e.g. `k20261126-3f9a1c`.
    public static func generateKeyID(now: Date = Date()) -> String {
        let day = CalendarDateText.compact(now)
        let suffix = (0..<3).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        return "k\(day)-\(suffix)"
    }

    static func isValidKeyID(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 64
            && id.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_") }
    }
}

enum CalendarDateText {
    static func compact(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d%02d%02d", c.year!, c.month!, c.day!)
    }
}
