import BankSyncCore
@testable import BankSyncStore
import BankSyncTesting
import Foundation
import SQLKit
import Testing

@Suite("Token encryption at rest")
struct TokenEncryptionTests {
    @Test("a stored token decrypts to what was stored and is sealed with the active key", arguments: TestEngine.available)
    func roundTrip(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let fixture = try await Fixture.make(in: store, accessToken: "access-sandbox-5c1f0e2a")
            #expect(try await store.connections.accessToken(for: fixture.connection.id) == "access-sandbox-5c1f0e2a")
            let stored = try await store.database.withSession { db in
                try await db.raw("SELECT access_token_ciphertext AS c FROM connections").first()?.decode(column: "c", as: String.self)
            }
            #expect(stored?.hasPrefix("bs1:test:") == true)
            #expect(stored?.contains("access-sandbox") == false)
        }
    }

    @Test("the SQLite file and its WAL hold no plaintext token")
    func noPlaintextOnDisk() async throws {
        let token = "access-sandbox-PLAINTEXT-MARKER-7f3a9b"
        try await withTestStore(.sqlite) { store, directory in
            let directory = try #require(directory)
            let fixture = try await Fixture.make(in: store, accessToken: token)
            try await store.connections.setAccessToken(token + "-relinked", for: fixture.connection.id)
            func scan() throws {
                let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                #expect(files.contains("test.sqlite"))
                for file in files {
                    let bytes = try Data(contentsOf: directory.appendingPathComponent(file))
                    #expect(bytes.range(of: Data(token.utf8)) == nil, "plaintext token found in \(file)")
                    #expect(bytes.range(of: Data("PLAINTEXT-MARKER".utf8)) == nil, "token fragment found in \(file)")
                }
            }
            try scan()  // the WAL holds the latest writes
            try await store.database.withSession { db in try await db.raw("PRAGMA wal_checkpoint(TRUNCATE)").run() }
            try scan()  // and after they reach the main file
            // The test would see a plaintext token: the marker is in the file when stored unencrypted.
            try await store.database.withSession { db in
                try await db.raw("CREATE TABLE probe (t TEXT)").run()
                try await db.raw("INSERT INTO probe VALUES ('PLAINTEXT-MARKER-control')").run()
                try await db.raw("PRAGMA wal_checkpoint(TRUNCATE)").run()
            }
            let main = try Data(contentsOf: directory.appendingPathComponent("test.sqlite"))
            #expect(main.range(of: Data("PLAINTEXT-MARKER-control".utf8)) != nil)
        }
    }

    @Test("a ciphertext moved to another connection's row does not decrypt", arguments: TestEngine.available)
    func boundToRow(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let a = try await Fixture.make(in: store, accessToken: "token-a")
            let b = try await Fixture.make(in: store, accessToken: "token-b")
            try await store.database.withSession { db in
                try await db.raw(
                    """
                    UPDATE connections SET access_token_ciphertext =
                      (SELECT access_token_ciphertext FROM connections WHERE id = \(bind: a.connection.id.rawValue))
                    WHERE id = \(bind: b.connection.id.rawValue)
                    """
                ).run()
            }
            let error = await #expect(throws: StoreError.self) { try await store.connections.accessToken(for: b.connection.id) }
            #expect(error?.kind == .decryption)
            #expect(error?.message.contains("token-a") == false)
        }
    }

    @Test("a token sealed with a key that is not configured fails with the key id, not the token")
    func missingKey() throws {
        let old = TokenCipher(keyring: try Keyring(parsing: "old:\(Keyring.generateKeyBase64())", activeKeyID: nil))
        let new = TokenCipher(keyring: try Keyring(parsing: "new:\(Keyring.generateKeyBase64())", activeKeyID: nil))
        let sealed = try old.seal("secret-token", context: "c1")
        #expect(throws: StoreError.self) { try new.open(sealed, context: "c1") }
        do { _ = try new.open(sealed, context: "c1") } catch let error as StoreError {
            #expect(error.message.contains("'old'"))
            #expect(!error.message.contains("secret-token"))
        }
        #expect(throws: StoreError.self) { try old.open("garbage", context: "c1") }
    }

    @Test("rotation re-encrypts every token so the old key can be dropped", arguments: TestEngine.available)
    func rotation(engine: TestEngine) async throws {
        let oldKey = Keyring.generateKeyBase64()
        let newKey = Keyring.generateKeyBase64()
        let oldRing = try Keyring(parsing: "k1:\(oldKey)", activeKeyID: nil)
        try await withTestStore(engine, keyring: oldRing) { store, _ in
            var fixtures: [Fixture] = []
            for i in 0..<7 { fixtures.append(try await Fixture.make(in: store, accessToken: "token-\(i)")) }
            let both = try Keyring(parsing: "k1:\(oldKey),k2:\(newKey)", activeKeyID: "k2")
            let rotated = Store(database: store.database, keyring: both)
            #expect(try await rotated.connections.reencryptTokens(batchSize: 3) == 7)
            #expect(try await rotated.connections.reencryptTokens(batchSize: 3) == 0)
            let onlyNew = Store(database: store.database, keyring: try Keyring(parsing: "k2:\(newKey)", activeKeyID: nil))
            for (i, fixture) in fixtures.enumerated() {
                #expect(try await onlyNew.connections.accessToken(for: fixture.connection.id) == "token-\(i)")
            }
        }
    }

    @Test("keyring configuration errors name the entry, never the key material")
    func keyringErrors() {
        #expect(throws: StoreError.self) { try Keyring(parsing: "no-colon", activeKeyID: nil) }
        #expect(throws: StoreError.self) { try Keyring(parsing: "k1:!!!notbase64", activeKeyID: nil) }
        // 16 bytes is AES-128: refused, the store uses AES-256.
        #expect(throws: StoreError.self) { try Keyring(parsing: "k1:AAAAAAAAAAAAAAAAAAAAAA==", activeKeyID: nil) }
        #expect(throws: StoreError.self) { try Keyring(parsing: "k1:\(Keyring.generateKeyBase64())", activeKeyID: "k9") }
        #expect(throws: StoreError.self) { try Keyring(parsing: "bad id:\(Keyring.generateKeyBase64())", activeKeyID: nil) }
        let key = Keyring.generateKeyBase64()
        #expect(throws: StoreError.self) { try Keyring(parsing: "k1:\(key),k1:\(Keyring.generateKeyBase64())", activeKeyID: nil) }
    }

    @Test("a secret's stored hash is the lower-case hex SHA-256 of its UTF-8 (FIPS 180-2 vectors)")
    func secretHashVectors() {
        #expect(secretHash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(secretHash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(secretHash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }
}
