import SQLKit

/// The SQL engine behind a ``Database``: the one place where SQLite and PostgreSQL differ.
///
/// Both engines run the same schema and the same statements (`INSERT … ON CONFLICT … DO UPDATE`,
/// `RETURNING`, partial indexes); what differs is listed here and nowhere else.
public enum DatabaseEngine: String, Sendable, Hashable, CaseIterable {
    case sqlite
    case postgres

    /// The most bound parameters one statement may carry (SQLite 32,766; PostgreSQL 65,535).
    public var maxBindParameters: Int {
        switch self {
        case .sqlite: return 32_766
        case .postgres: return 65_535
        }
    }

    /// The statement that opens a write transaction. SQLite's `BEGIN IMMEDIATE` takes the write
    /// lock at once, so two writers queue on the busy timeout instead of failing with a deadlock
    /// when the second tries to upgrade a read lock.
    var beginTransaction: String {
        switch self {
        case .sqlite: return "BEGIN IMMEDIATE"
        case .postgres: return "BEGIN"
        }
    }

    /// Appended to a job-claim `SELECT`: PostgreSQL locks the rows it returns and skips rows
    /// another worker holds; SQLite has one writer, so its claim transaction already excludes others.
    public var claimLockClause: String {
        switch self {
        case .sqlite: return ""
        case .postgres: return " FOR UPDATE SKIP LOCKED"
        }
    }

    /// A statement run at the start of a migration transaction that keeps two processes from
    /// migrating at once. PostgreSQL takes a transaction-scoped advisory lock; SQLite's
    /// `BEGIN IMMEDIATE` already holds the only write lock there is.
    var migrationLock: String? {
        switch self {
        case .sqlite: return nil
        case .postgres: return "SELECT pg_advisory_xact_lock(7318052341)"
        }
    }
}

extension DatabaseEngine {
    /// A query returning one row with column `n` > 0 when the table exists. Bind: the table name.
    func tableExists(_ table: String) -> SQLQueryString {
        switch self {
        case .sqlite: return "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = \(bind: table)"
        case .postgres:
            return "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = \(bind: table)"
        }
    }
}
