/// One forward-only step of the schema. Applied once, in order, inside a transaction, and
/// recorded in `schema_migrations`. A migration is never edited after it ships: a change is a
/// new migration.
public struct Migration: Sendable {
    /// Strictly increasing from 1.
    public let version: Int
    /// A short slug, recorded beside the version.
    public let name: String
    /// The statements, run in order. Each must run unchanged on SQLite and PostgreSQL.
    public let statements: [String]
    /// Run after ``statements`` on PostgreSQL only: storage tuning that SQLite has no words for.
    /// Never schema: both engines must end with the same tables, columns and indexes.
    public let postgresTuning: [String]

    public init(version: Int, name: String, statements: [String], postgresTuning: [String] = []) {
        self.version = version
        self.name = name
        self.statements = statements
        self.postgresTuning = postgresTuning
    }
}
