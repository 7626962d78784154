import BankSyncCore
@testable import BankSyncStore
import BankSyncTesting
import Foundation
import SQLKit
import Testing

@Suite("Bad input and broken databases")
struct DatabaseErrorTests {
    func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("banksync-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("a file that is not an SQLite database fails with 'corrupt' and is left untouched")
    func corruptFile() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("notes.sqlite").path
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        _ = FileManager.default.createFile(atPath: path, contents: garbage)
        let error = await #expect(throws: StoreError.self) {
            _ = try await Database.open(.sqlite(path: path), logger: testLogger())
        }
        #expect(error?.kind == .corrupt)
        #expect(error?.message.contains(path) == true)
        #expect(FileManager.default.contents(atPath: path) == garbage)
    }

    @Test("a database file in a directory that does not exist cannot be opened, and says so")
    func missingDirectory() async throws {
        let error = await #expect(throws: StoreError.self) {
            _ = try await Database.open(.sqlite(path: "/nonexistent-\(UUID().uuidString)/db.sqlite"), logger: testLogger())
        }
        #expect(error?.kind == .cannotOpen)
    }

    @Test("a write while another process holds the SQLite lock fails as 'busy'; committed data is intact")
    func lockedFile() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = DatabaseURL.sqlite(path: dir.appendingPathComponent("shared.sqlite").path)
        try await Database.withDatabase(url, logger: testLogger()) { holder in
            try await Migrator(database: holder, logger: testLogger()).migrate()
            let tenants = TenantRepository(database: holder)
            let kept = try await tenants.create(name: "kept")
            try await Database.withDatabase(url, logger: testLogger(), busyTimeout: .milliseconds(200)) { other in
                try await holder.transaction { db in
                    try await db.raw("INSERT INTO tenants (id, name, created_at) VALUES ('t-held', 'held', 0)").run()
                    let error = await #expect(throws: StoreError.self) {
                        _ = try await TenantRepository(database: other).create(name: "blocked")
                    }
                    #expect(error?.kind == .busy)
                    #expect(error?.message.contains("locked") == true)
                }
                #expect(try await TenantRepository(database: other).get(kept.id)?.name == "kept")
                #expect(try await TenantRepository(database: other).get("t-held")?.name == "held")
            }
        }
    }

    @Test("an unreachable PostgreSQL fails fast with the address and the reason, without the password")
    func unreachablePostgres() async throws {
        // Port 1 on loopback: nothing listens there.
        let url = try DatabaseURL(parsing: "postgres://banksync:hunter2@127.0.0.1:1/banksync?sslmode=disable")
        let error = await #expect(throws: StoreError.self) { _ = try await Database.open(url, logger: testLogger()) }
        #expect(error?.kind == .unreachable)
        #expect(error?.message.contains("127.0.0.1:1") == true)
        #expect(error?.message.contains("hunter2") == false)
    }

    @Test("a wrong PostgreSQL password is reported as the server's refusal", .enabled(if: TestEngine.postgresURL != nil))
    func wrongPassword() async throws {
        guard case .postgres(var location) = TestEngine.postgresURL else { return }
        location.password = "definitely-wrong"
        let error = await #expect(throws: StoreError.self) { _ = try await Database.open(.postgres(location), logger: testLogger()) }
        #expect(error?.kind == .unreachable)
        #expect(error?.message.contains("definitely-wrong") == false)
        #expect(error?.message.contains("password") == true)
    }

    @Test(
        "malformed database URLs name what is wrong",
        arguments: [
            ("mysql://root@localhost/db", "unsupported scheme"), ("sqlite://", "no file path"),
            ("postgres://localhost/db", "names no user"), ("postgres://u:p@localhost", "names no database"),
            ("postgres://u:p@localhost/db?sslmode=sometimes", "sslmode"), ("", "unsupported scheme"),
        ])
    func invalidURLs(text: String, expected: String) {
        do {
            _ = try DatabaseURL(parsing: text)
            Issue.record("'\(text)' parsed")
        } catch {
            #expect(error.kind == .invalidURL)
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test("URLs parse into their parts, and print with the password hidden")
    func validURLs() throws {
        #expect(try DatabaseURL(parsing: "sqlite://./banksync.sqlite") == .sqlite(path: "./banksync.sqlite"))
        #expect(try DatabaseURL(parsing: "sqlite:///var/lib/bs.sqlite") == .sqlite(path: "/var/lib/bs.sqlite"))
        let pg = try DatabaseURL(parsing: "postgresql://bank%40sync:p%3Ass@db.internal:6543/money?sslmode=require")
        guard case .postgres(let location) = pg else { Issue.record("not postgres"); return }
        #expect(location.username == "bank@sync")
        #expect(location.password == "p:ss")
        #expect(location.port == 6543)
        #expect(location.database == "money")
        #expect(location.tlsMode == .require)
        #expect(!pg.description.contains("p:ss") && pg.description.contains("***"))
        #expect(DatabaseURL.redacted("postgres://u:secret@h/db?x") == "postgres://u:***@h/db?x")
    }
}
