import BankSyncCore
import BankSyncStore
import BankSyncTesting
import Foundation
import SQLKit
import Testing

@Suite("Migrations")
struct MigrationTests {
    @Test("migrating an empty database records every version once, and again is a no-op", arguments: TestEngine.available)
    func migratesOnce(engine: TestEngine) async throws {
        try await withEmptyDatabase(engine) { database, _ in
            let migrator = Migrator(database: database, logger: testLogger())
            let version = try await migrator.currentVersion()
            #expect(version == 0)
            #expect(try await migrator.migrate() == Array(1...Migrator.latestVersion))
            #expect(try await migrator.migrate() == [])
            #expect(try await migrator.currentVersion() == Migrator.latestVersion)
            try await migrator.ensureCompatible()
            let rows = try await database.withSession { db in
                try await db.raw("SELECT version, name FROM schema_migrations ORDER BY version").all()
            }
            #expect(rows.count == Migrator.latestVersion)
            #expect(try rows[0].decode(column: "name", as: String.self) == "initial")
        }
    }

    @Test("a database migrated by a newer binary is refused, and its data is left alone", arguments: TestEngine.available)
    func refusesNewerSchema(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let fixture = try await Fixture.make(in: store)
            try await store.database.withSession { db in
                try await db.raw("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 0)").run()
            }
            let migrator = store.migrator(logger: testLogger())
            let error = await #expect(throws: StoreError.self) { try await migrator.migrate() }
            #expect(error?.kind == .schemaTooNew)
            #expect(error?.message.contains("99") == true)
            let compatible = await #expect(throws: StoreError.self) { try await migrator.ensureCompatible() }
            #expect(compatible?.kind == .schemaTooNew)
            #expect(try await store.users.get(fixture.user.id) == fixture.user)
            #expect(try await migrator.currentVersion() == 99)
        }
    }

    @Test("an unmigrated database is reported as outdated", arguments: TestEngine.available)
    func outdated(engine: TestEngine) async throws {
        try await withEmptyDatabase(engine) { database, _ in
            let error = await #expect(throws: StoreError.self) {
                try await Migrator(database: database, logger: testLogger()).ensureCompatible()
            }
            #expect(error?.kind == .schemaOutdated)
            #expect(error?.message.contains("banksync migrate") == true)
        }
    }

    @Test("a failing migration rolls back whole: no version recorded, no table left", arguments: TestEngine.available)
    func failingMigrationRollsBack(engine: TestEngine) async throws {
        try await withEmptyDatabase(engine) { database, _ in
            let broken = Migration(version: 1, name: "broken", statements: ["CREATE TABLE half (id TEXT)", "THIS IS NOT SQL"])
            let migrator = Migrator(database: database, logger: testLogger(), migrations: [broken])
            await #expect(throws: (any Error).self) { try await migrator.migrate() }
            let version = try await migrator.currentVersion()
            #expect(version == 0)
            await #expect(throws: (any Error).self) {
                try await database.withSession { db in try await db.raw("SELECT * FROM half").all() }
            }
        }
    }

    @Test("two processes migrating at once apply each version exactly once", arguments: TestEngine.available)
    func concurrentMigrations(engine: TestEngine) async throws {
        try await withEmptyDatabase(engine) { database, _ in
            let migrator = Migrator(database: database, logger: testLogger())
            async let first = migrator.migrate()
            async let second = migrator.migrate()
            let applied = try await first + second
            #expect(applied == Array(1...Migrator.latestVersion))
        }
    }

    @Test("an error thrown inside a transaction rolls it back and reaches the caller unchanged", arguments: TestEngine.available)
    func transactionRollback(engine: TestEngine) async throws {
        struct Abort: Error, Equatable {}
        try await withTestStore(engine) { store, _ in
            await #expect(throws: Abort()) {
                try await store.database.transaction { db in
                    try await db.raw("INSERT INTO tenants (id, name, created_at) VALUES ('t1', 'x', 0)").run()
                    throw Abort()
                }
            }
            let stored = try await store.tenants.get("t1")
            #expect(stored == nil)
        }
    }

    @Test("on PostgreSQL the queue table gets its vacuum tuning", .enabled(if: TestEngine.postgresURL != nil))
    func postgresTuning() async throws {
        try await withTestStore(.postgres) { store, _ in
            let options = try await store.database.withSession { db in
                try await db.raw("SELECT array_to_string(reloptions, ',') AS o FROM pg_class WHERE relname = 'jobs'").first()?
                    .decode(column: "o", as: String?.self)
            }
            #expect(options?.contains("fillfactor=70") == true)
            #expect(options?.contains("autovacuum_vacuum_scale_factor=0.01") == true)
        }
    }
}
