import Crypto
import Foundation
public import Logging

/// The key file of embedded mode: a JSON document, mode 0600, holding the keyring.
///
/// ```json
/// {"active": "k20261126-3f9a1c", "keys": {"k20261126-3f9a1c": "<base64 32 bytes>"}}
/// ```
/// Created on first start when no key is configured, so a newcomer needs no setup; the log says
/// where it is, because losing it makes every stored token unreadable.
public enum KeyFile {
    struct Contents: Codable {
        var active: String
        var keys: [String: String]
    }

    /// Loads the keyring from `path`, creating the file with a new key if it does not exist.
    /// - Throws: ``StoreError`` `.missingKey` when the file exists but cannot be read or parsed,
    ///   or is readable by others.
    public static func loadOrCreate(at path: String, logger: Logger) throws -> Keyring {
        if FileManager.default.fileExists(atPath: path) { return try load(at: path) }
        let id = Keyring.generateKeyID()
        let contents = Contents(active: id, keys: [id: encode(Keyring.generateKey())])
        try write(contents, to: path, createOnly: true)
        logger.notice(
            "generated a new encryption key file; back it up: without it stored provider tokens cannot be decrypted",
            metadata: ["path": "\(path)", "key_id": "\(id)"])
        return try load(at: path)
    }

    /// Loads the keyring from an existing key file.
    public static func load(at path: String) throws -> Keyring {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        if let mode = (attributes?[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0 {
            throw StoreError(
                .missingKey,
                "key file \(path) is readable by other users (mode \(String(mode, radix: 8))): run chmod 600 \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError(.missingKey, "cannot read key file \(path)")
        }
        let contents: Contents
        do { contents = try JSONDecoder().decode(Contents.self, from: data) } catch {
            throw StoreError(.missingKey, "key file \(path) is not valid: expected {\"active\": ID, \"keys\": {ID: base64}}")
        }
        var keys: [String: SymmetricKey] = [:]
        for (id, text) in contents.keys {
            guard let raw = Data(base64Encoded: text) else {
                throw StoreError(.missingKey, "key '\(id)' in key file \(path) is not valid base64")
            }
            keys[id] = SymmetricKey(data: raw)
        }
        return try Keyring(keys: keys, activeKeyID: contents.active)
    }

    /// Adds a new key to the file and makes it active; older keys stay for decryption.
    /// - Returns: the new key id.
    @discardableResult
    public static func addActiveKey(at path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError(.missingKey, "cannot read key file \(path)")
        }
        var contents = try JSONDecoder().decode(Contents.self, from: data)
        let id = Keyring.generateKeyID()
        contents.keys[id] = encode(Keyring.generateKey())
        contents.active = id
        try write(contents, to: path, createOnly: false)
        return id
    }

    private static func encode(_ key: SymmetricKey) -> String {
        key.withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// Writes through a 0600 temporary file and a rename, so the key file is never half-written
    /// nor, even for an instant, readable by others.
    private static func write(_ contents: Contents, to path: String, createOnly: Bool) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(contents)
        let temporary = path + ".tmp-\(UInt32.random(in: 0...UInt32.max))"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600])
        else { throw StoreError(.missingKey, "cannot create key file \(path) (is the directory writable?)") }
        if createOnly {
            // link(2) fails if the target exists: two processes starting at once keep one key.
            if link(temporary, path) != 0 {
                let code = errno
                unlink(temporary)
                if code == EEXIST { return }
                throw StoreError(.missingKey, "cannot create key file \(path): \(String(cString: strerror(code)))")
            }
            unlink(temporary)
        } else if rename(temporary, path) != 0 {
            unlink(temporary)
            throw StoreError(.missingKey, "cannot replace key file \(path): \(String(cString: strerror(errno)))")
        }
    }
}
