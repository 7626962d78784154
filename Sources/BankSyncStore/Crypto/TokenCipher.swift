import Crypto
import Foundation

/// Seals provider access tokens with AES-256-GCM before they are stored.
///
/// The stored text is `bs1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`. The key id lets keys
/// rotate: each value names the key that sealed it. The row's id is authenticated as associated
/// data, so a ciphertext copied onto another connection's row fails to open.
public struct TokenCipher: Sendable {
    public let keyring: Keyring
    static let prefix = "bs1"

    public init(keyring: Keyring) { self.keyring = keyring }

    /// Encrypts `plaintext` with the active key, bound to `context` (the owning row's id).
    public func seal(_ plaintext: String, context: String) throws -> String {
        guard let key = keyring.key(id: keyring.activeKeyID) else {
            throw StoreError(.missingKey, "active encryption key '\(keyring.activeKeyID)' is missing")
        }
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: key, authenticating: Data(context.utf8))
        guard let combined = box.combined else { throw StoreError(.decryption, "AES-GCM produced no combined box") }
        return "\(Self.prefix):\(keyring.activeKeyID):\(combined.base64EncodedString())"
    }

    /// Decrypts a value produced by ``seal(_:context:)`` with the key it names.
    /// - Throws: ``StoreError`` `.decryption` naming the key id (never the value) when the key is
    ///   not configured, the format is wrong, or authentication fails.
    public func open(_ sealed: String, context: String) throws -> String {
        guard let keyID = Self.keyID(of: sealed), let body = sealed.split(separator: ":", maxSplits: 2).last,
            let data = Data(base64Encoded: String(body))
        else { throw StoreError(.decryption, "stored token is not in the bs1:<key id>:<data> format") }
        guard let key = keyring.key(id: keyID) else {
            throw StoreError(
                .decryption,
                "stored token was sealed with key '\(keyID)', which is not configured (configured: \(keyring.keyIDs.joined(separator: ", ")))"
            )
        }
        do {
            let box = try AES.GCM.SealedBox(combined: data)
            let plain = try AES.GCM.open(box, using: key, authenticating: Data(context.utf8))
            return String(decoding: plain, as: UTF8.self)
        } catch {
            throw StoreError(.decryption, "stored token failed authentication with key '\(keyID)' (wrong key or tampered data)")
        }
    }

    /// The id of the key that sealed `sealed`, or nil if it is not a sealed value.
    public static func keyID(of sealed: String) -> String? {
        let parts = sealed.split(separator: ":", maxSplits: 2)
        guard parts.count == 3, parts[0] == prefix else { return nil }
        return String(parts[1])
    }
}
