import BankSyncStore
import BankSyncTesting
import Foundation
import Testing

@Suite("Key file")
struct KeyFileTests {
    func withDirectory(_ body: (String) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("banksync-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try body(dir.path)
    }

    @Test("a missing key file is created with mode 0600 and the same key loads back")
    func createsPrivateFile() throws {
        try withDirectory { dir in
            let path = dir + "/banksync.sqlite.key"
            let first = try KeyFile.loadOrCreate(at: path, logger: testLogger())
            let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
            #expect(mode == 0o600)
            let second = try KeyFile.loadOrCreate(at: path, logger: testLogger())
            #expect(first.activeKeyID == second.activeKeyID)
            let sealed = try TokenCipher(keyring: first).seal("t", context: "c")
            #expect(try TokenCipher(keyring: second).open(sealed, context: "c") == "t")
        }
    }

    @Test("adding a key makes it active and keeps the old one for decryption")
    func addKey() throws {
        try withDirectory { dir in
            let path = dir + "/k.key"
            let before = try KeyFile.loadOrCreate(at: path, logger: testLogger())
            let sealed = try TokenCipher(keyring: before).seal("t", context: "c")
            let id = try KeyFile.addActiveKey(at: path)
            let after = try KeyFile.load(at: path)
            #expect(after.activeKeyID == id)
            #expect(after.keyIDs.count == 2)
            #expect(try TokenCipher(keyring: after).open(sealed, context: "c") == "t")
        }
    }

    @Test("a key file readable by others is refused with the chmod to run")
    func refusesOpenPermissions() throws {
        try withDirectory { dir in
            let path = dir + "/k.key"
            _ = try KeyFile.loadOrCreate(at: path, logger: testLogger())
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
            do {
                _ = try KeyFile.load(at: path)
                Issue.record("expected an error")
            } catch let error as StoreError {
                #expect(error.message.contains("chmod 600"))
            }
        }
    }

    @Test("a damaged key file is an error, not a new key")
    func damaged() throws {
        try withDirectory { dir in
            let path = dir + "/k.key"
            _ = FileManager.default.createFile(atPath: path, contents: Data("{not json".utf8), attributes: [.posixPermissions: 0o600])
            #expect(throws: StoreError.self) { try KeyFile.loadOrCreate(at: path, logger: testLogger()) }
            #expect(String(decoding: FileManager.default.contents(atPath: path)!, as: UTF8.self) == "{not json")
        }
    }
}
