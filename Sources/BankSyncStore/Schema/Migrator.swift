public import Foundation
public import Logging
import SQLKit

/// Applies ``Schema`` migrations and checks that a database's schema is one this binary can use.
public struct Migrator: Sendable {
    let database: Database
    let logger: Logger
    let migrations: [Migration]

    /// - Parameter migrations: the schema to apply; tests pass extra steps, production uses the default.
    public init(database: Database, logger: Logger, migrations: [Migration]? = nil) {
        self.database = database
        self.logger = logger
        self.migrations = migrations ?? Schema.migrations
    }

    /// The newest schema version this binary knows.
    public static var latestVersion: Int { Schema.latestVersion }

    /// The newest version recorded in the database, 0 for an empty database.
    public func currentVersion() async throws -> Int {
        try await database.withSession { db in try await Self.currentVersion(db, engine: database.engine) }
    }

    /// Applies every pending migration in one transaction, so a failure leaves the schema as it was.
    ///
    /// Safe to run from several processes at once: PostgreSQL serializes them on an advisory lock,
    /// SQLite on its write lock; the loser finds nothing left to do.
    /// - Returns: the versions applied, oldest first.
    /// - Throws: ``StoreError`` `.schemaTooNew` when the database is newer than this binary.
    @discardableResult
    public func migrate(now: Date = Date()) async throws -> [Int] {
        let latest = migrations.last?.version ?? 0
        let applied = try await database.transaction { db -> [Int] in
            if let lock = database.engine.migrationLock { try await db.raw(SQLQueryString(lock)).run() }
            try await db.raw(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_at BIGINT NOT NULL
                )
                """
            ).run()
            let current = try await Self.maxVersion(db)
            if current > latest { throw Self.tooNew(found: current, supported: latest) }
            var done: [Int] = []
            for migration in migrations where migration.version > current {
                for statement in migration.statements { try await db.raw(SQLQueryString(statement)).run() }
                if database.engine == .postgres {
                    for statement in migration.postgresTuning { try await db.raw(SQLQueryString(statement)).run() }
                }
                try await db.raw(
                    """
                    INSERT INTO schema_migrations (version, name, applied_at)
                    VALUES (\(bind: migration.version), \(bind: migration.name), \(bind: now.millisecondsSince1970))
                    """
                ).run()
                done.append(migration.version)
            }
            return done
        }
        for version in applied { logger.info("applied schema migration", metadata: ["schema_version": "\(version)"]) }
        return applied
    }

    /// Throws unless the database is at exactly the schema this binary knows.
    /// - Throws: ``StoreError`` `.schemaTooNew` (a newer binary migrated it: refuse to touch it) or
    ///   `.schemaOutdated` (run `banksync migrate`).
    public func ensureCompatible() async throws {
        let latest = migrations.last?.version ?? 0
        let current = try await currentVersion()
        if current > latest { throw Self.tooNew(found: current, supported: latest) }
        if current < latest {
            throw StoreError(
                .schemaOutdated,
                "database schema is at version \(current) but this binary needs \(latest): run `banksync migrate`")
        }
    }

    static func tooNew(found: Int, supported: Int) -> StoreError {
        StoreError(
            .schemaTooNew,
            "database schema version \(found) is newer than this binary supports (\(supported)): it was migrated by a newer BankSync; upgrade this binary instead of running it against this database"
        )
    }

    static func currentVersion(_ db: any SQLDatabase, engine: DatabaseEngine) async throws -> Int {
        let exists = try await db.raw(engine.tableExists("schema_migrations")).first()?.decode(column: "n", as: Int.self) ?? 0
        guard exists > 0 else { return 0 }
        return try await maxVersion(db)
    }

    private static func maxVersion(_ db: any SQLDatabase) async throws -> Int {
        try await db.raw("SELECT max(version) AS v FROM schema_migrations").first()?.decode(column: "v", as: Int?.self) ?? 0
    }
}
