public import BankSyncCore
public import Foundation
public import SQLKit

/// Which pending row became which posted row, how it was decided, and how sure we were.
public struct TransactionLink: Hashable, Sendable {
    public var accountID: Identifier<Account>
    public var postedProviderID: String
    public var pendingProviderID: String
    /// `provider` (the provider said so: Plaid `pending_transaction_id`) or `matcher`.
    public var method: String
    /// 1 for a provider link; the matcher's score otherwise.
    public var confidence: Double
    public var createdAt: Date
    public var undoneAt: Date?

    public init(
        accountID: Identifier<Account>, postedProviderID: String, pendingProviderID: String, method: String, confidence: Double, createdAt: Date,
        undoneAt: Date? = nil
    ) {
        self.accountID = accountID
        self.postedProviderID = postedProviderID
        self.pendingProviderID = pendingProviderID
        self.method = method
        self.confidence = confidence
        self.createdAt = createdAt
        self.undoneAt = undoneAt
    }
}

/// The record of pending→posted settlements, so a wrong match can be seen and undone.
public struct TransactionLinkRepository: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// Records links inside the caller's transaction; a posted row's newer link replaces its older one
    /// (within `links` too: the last link of a posted row wins).
    ///
    /// One statement per 2,000 links, the rows in one JSON parameter (as the transactions
    /// upsert): a sync records a link for every pending row that settled, which was a third of
    /// all statements of an initial sync when each link was its own INSERT.
    public func record(_ links: [TransactionLink], on db: any SQLDatabase) async throws {
        let sql = database.engine == .postgres ? Self.postgresInsert : Self.sqliteInsert
        let texts = JSONRows.texts(
            links, key: { TransactionKey(accountID: $0.accountID, providerTransactionID: $0.postedProviderID) }, rowsPerText: Self.rowsPerStatement,
            bytesPerRow: 120
        ) { link, rows in
            rows.beginRow()
            rows.string(link.accountID.rawValue)
            rows.string(link.postedProviderID)
            rows.string(link.pendingProviderID)
            rows.string(link.method)
            rows.double(link.confidence)
            rows.int(link.createdAt.millisecondsSince1970)
            rows.endRow()
        }
        for text in texts {
            try await db.execute(sql: SQLQueryString("\(unsafeRaw: sql.prefix)\(bind: text)\(unsafeRaw: sql.suffix)")) { _ in }
        }
    }

    static let rowsPerStatement = 2_000

    private static let conflict = """
         ON CONFLICT (account_id, posted_provider_id) DO UPDATE SET pending_provider_id = excluded.pending_provider_id,
            method = excluded.method, confidence = excluded.confidence, created_at = excluded.created_at, undone_at = NULL
        """

    /// SQLite: each element's values by position (`WHERE true`: SQLite's rule for an upsert fed by a SELECT).
    static let sqliteInsert: (prefix: String, suffix: String) = (
        """
        INSERT INTO transaction_links (account_id, posted_provider_id, pending_provider_id, method, confidence, created_at)
        SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 FROM jsonb_each(
        """,
        ") WHERE true" + conflict
    )

    /// PostgreSQL: the same from `jsonb`, cast to the columns' types.
    static let postgresInsert: (prefix: String, suffix: String) = (
        """
        INSERT INTO transaction_links (account_id, posted_provider_id, pending_provider_id, method, confidence, created_at)
        SELECT r ->> 0, r ->> 1, r ->> 2, r ->> 3, (r ->> 4)::double precision, (r ->> 5)::bigint FROM jsonb_array_elements(
        """,
        "::jsonb) AS r" + conflict
    )

    /// An account's links, newest first.
    public func list(accountID: Identifier<Account>) async throws -> [TransactionLink] {
        try await database.withSession { db in
            try await db.raw(
                "SELECT * FROM transaction_links WHERE account_id = \(bind: accountID.rawValue) ORDER BY created_at DESC, posted_provider_id"
            ).all().map { row in
                TransactionLink(
                    accountID: try row.identifier("account_id"), postedProviderID: try row.text("posted_provider_id"),
                    pendingProviderID: try row.text("pending_provider_id"), method: try row.text("method"),
                    confidence: try row.decode(column: "confidence", as: Double.self), createdAt: try row.instant("created_at"),
                    undoneAt: try row.optionalInstant("undone_at"))
            }
        }
    }

    /// Undoes a matcher's link: the posted row forgets its pending origin and the pending row is
    /// live again (the next sync's comparison with the provider decides what stays). A
    /// provider-stated link cannot be undone: the provider would restate it.
    /// - Returns: false if there is no such link, it was undone already, or the provider stated it.
    @discardableResult
    public func undo(accountID: Identifier<Account>, postedProviderID: String, at time: Date) async throws -> Bool {
        try await database.transaction { db in
            guard let row = try await db.raw(
                """
                SELECT pending_provider_id FROM transaction_links
                WHERE account_id = \(bind: accountID.rawValue) AND posted_provider_id = \(bind: postedProviderID)
                    AND undone_at IS NULL AND method = 'matcher'
                """
            ).first() else { return false }
            let pending = try row.text("pending_provider_id")
            let ms = time.millisecondsSince1970
            try await db.raw(
                """
                UPDATE transaction_links SET undone_at = \(bind: ms)
                WHERE account_id = \(bind: accountID.rawValue) AND posted_provider_id = \(bind: postedProviderID)
                """
            ).run()
            try await db.raw(
                """
                UPDATE transactions SET pending_transaction_id = NULL, updated_at = \(bind: ms)
                WHERE account_id = \(bind: accountID.rawValue) AND provider_transaction_id = \(bind: postedProviderID)
                """
            ).run()
            try await db.raw(
                """
                UPDATE transactions SET removed_at = NULL, updated_at = \(bind: ms)
                WHERE account_id = \(bind: accountID.rawValue) AND provider_transaction_id = \(bind: pending)
                """
            ).run()
            return true
        }
    }
}
