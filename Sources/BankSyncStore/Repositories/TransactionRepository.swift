public import BankSyncCore
public import Foundation
public import SQLKit
import NIOCore
import PostgresNIO
import SQLiteNIO

/// Transactions, written in batches and read as a user's feed.
public struct TransactionRepository: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// The columns the upsert writes, in order (the benchmark's raw baselines write the same).
    public static let columns = [
        "id", "account_id", "user_id", "provider_transaction_id", "status", "amount_minor", "currency", "date",
        "authorized_date", "description", "merchant_name", "counterparty", "provider_category", "category",
        "category_confidence", "category_source", "pending_transaction_id", "removed_at", "processed_at",
        "categorized_at", "created_at", "updated_at",
    ]

    /// What a re-sync may change. The row keeps its id and `created_at`; a category chosen by the
    /// user is never replaced by an automatic one, and a missing incoming category keeps the old.
    static let conflict = """
        ON CONFLICT (account_id, provider_transaction_id) DO UPDATE SET status = excluded.status,
        amount_minor = excluded.amount_minor, currency = excluded.currency, date = excluded.date,
        authorized_date = excluded.authorized_date, description = excluded.description,
        merchant_name = excluded.merchant_name, counterparty = excluded.counterparty,
        provider_category = excluded.provider_category, pending_transaction_id = excluded.pending_transaction_id,
        removed_at = excluded.removed_at, processed_at = excluded.processed_at, updated_at = excluded.updated_at,
        category = CASE WHEN \(keepCategory) THEN transactions.category ELSE excluded.category END,
        category_confidence = CASE WHEN \(keepCategory) THEN transactions.category_confidence ELSE excluded.category_confidence END,
        category_source = CASE WHEN \(keepCategory) THEN transactions.category_source ELSE excluded.category_source END,
        categorized_at = CASE WHEN NOT \(keepCategory) THEN excluded.categorized_at
            WHEN COALESCE(transactions.category_source, '') <> 'user' AND \(decidingFieldsChanged) THEN NULL
            ELSE transactions.categorized_at END
        """
    private static let keepCategory =
        "(excluded.category IS NULL OR transactions.category_source = 'user')"
    /// What the automatic decision read: when the bank changes one of these (a pending row
    /// posting under the merchant's clean name, a corrected amount), an automatic category is
    /// marked undecided (`categorized_at` NULL) and `categorize-transactions` decides it again.
    /// The old category stays visible until then; a user's choice is never touched.
    private static let decidingFieldsChanged = """
        (transactions.description IS DISTINCT FROM excluded.description
         OR transactions.merchant_name IS DISTINCT FROM excluded.merchant_name
         OR transactions.counterparty IS DISTINCT FROM excluded.counterparty
         OR transactions.provider_category IS DISTINCT FROM excluded.provider_category
         OR transactions.amount_minor <> excluded.amount_minor)
        """

    /// Inserts or updates transactions by (account, provider transaction id): one multi-row
    /// statement per batch of up to 1,000, all batches in one database transaction.
    ///
    /// When the input names the same (account, provider id) twice, the last one wins (a single
    /// statement may not touch a row twice).
    /// - Returns: the stored id of every row, keyed by (account id, provider transaction id);
    ///   an existing row keeps its id.
    @discardableResult
    public func upsert(_ transactions: [Transaction]) async throws -> [TransactionKey: Identifier<Transaction>] {
        guard !transactions.isEmpty else { return [:] }
        return try await database.transaction { db in try await upsert(transactions, on: db) }
    }

    /// ``upsert(_:)`` on `db`, inside the caller's transaction (a sync writes its rows and its
    /// cursor together).
    @discardableResult
    public func upsert(_ transactions: [Transaction], on db: any SQLDatabase) async throws -> [TransactionKey: Identifier<Transaction>] {
        var ids: [TransactionKey: Identifier<Transaction>] = [:]
        ids.reserveCapacity(transactions.count)
        try await write(transactions, returningIDs: true, on: db) { row in
            let key = TransactionKey(accountID: try row.identifier("account_id"), providerTransactionID: try row.text("provider_transaction_id"))
            ids[key] = try row.identifier("id")
        }
        return ids
    }

    /// ``upsert(_:on:)`` without reading the stored ids back: the sync pipeline's write.
    public func write(_ transactions: [Transaction], on db: any SQLDatabase) async throws {
        try await write(Self.encode(transactions), on: db)
    }

    /// Rows for ``write(_:on:)-(EncodedTransactions,_)``, encoded ahead: the sync encodes
    /// before its database transaction opens, so the encoding does not hold SQLite's only writer.
    public struct EncodedTransactions: Sendable {
        /// JSON arrays of at most ``rowsPerStatement`` rows each, for the upsert.
        let chunks: [String]
        /// PostgreSQL: the rows the caller takes for new, for `COPY`.
        let fresh: FreshRows?
        public var isEmpty: Bool { chunks.isEmpty && fresh == nil }
    }

    /// Rows believed new, in `COPY` text, and the rows themselves for the upsert should one of
    /// them exist after all.
    struct FreshRows: Sendable {
        let text: [UInt8]
        let rows: [Transaction]
    }

    /// `transactions` encoded for ``write(_:on:)-(EncodedTransactions,_)``; the last occurrence
    /// of a key wins (one statement may not touch a row twice).
    public static func encode(_ transactions: [Transaction]) -> EncodedTransactions {
        EncodedTransactions(
            chunks: JSONRows.texts(
                transactions, key: TransactionKey.init(of:),
                rowsPerText: rowsPerStatement, encode: encode(_:into:)),
            fresh: nil)
    }

    /// Like ``encode(_:)``, with the rows the caller takes for new (`isNew`: Plaid's `added`, a
    /// window's rows that are not among the account's stored live ones) marked for PostgreSQL's
    /// `COPY` when there are at least ``rowsForCopy`` of them: an initial sync's rows are all new,
    /// and `COPY` stores them with less of the server's work than the upsert (`ON CONFLICT` makes
    /// every row a speculative insertion; from asyncpg, 300-row batches went 32.5k → 44.4k rows/s).
    /// The write checks the belief: if a row exists after all (a removed row sent again, an
    /// `added` row already stored), that `COPY` is rolled back to a savepoint and its rows go
    /// through the upsert. SQLite, and fewer rows, take ``encode(_:)``.
    public static func encode(_ transactions: [Transaction], for engine: DatabaseEngine, isNew: (Transaction) -> Bool) -> EncodedTransactions {
        guard engine == .postgres else { return encode(transactions) }
        let key = TransactionKey.init(of:)
        var occurrences: [TransactionKey: Int] = [:]
        for t in transactions { occurrences[key(t), default: 0] += 1 }
        // A key that comes twice goes through the upsert, where the last occurrence wins.
        let fresh = transactions.filter { isNew($0) && occurrences[key($0)] == 1 }
        guard fresh.count >= rowsForCopy else { return encode(transactions) }
        let freshKeys = Set(fresh.map(key))
        let rest = encode(transactions.filter { !freshKeys.contains(key($0)) })
        return EncodedTransactions(chunks: rest.chunks, fresh: FreshRows(text: copyText(fresh), rows: fresh))
    }

    /// `transactions` in `COPY … FROM STDIN` text, in ``columns`` order (the benchmark's raw
    /// baseline loads the same bytes the sync would).
    public static func copyText(_ transactions: [Transaction]) -> [UInt8] {
        var text = CopyRows(reservingRows: transactions.count)
        for t in transactions { encode(t, into: &text) }
        return text.bytes
    }

    /// The fewest new rows worth a `COPY` (it takes a savepoint and its release besides).
    public static let rowsForCopy = 64

    /// Writes rows encoded by ``encode(_:)`` or ``encode(_:for:isNew:)`` (the sync pipeline's
    /// write, without reading ids back).
    /// - Important: on PostgreSQL call it inside a transaction (``Database/transaction(_:)``):
    ///   rows for `COPY` take a savepoint, which exists only in one.
    public func write(_ encoded: EncodedTransactions, on db: any SQLDatabase) async throws {
        try await write(encoded, returningIDs: false, on: db) { _ in }
    }

    /// Rows per statement: the JSON parameter has no bind limit; this bounds its size (~1 MB).
    public static let rowsPerStatement = 2_000

    private func write(
        _ transactions: [Transaction], returningIDs: Bool, on db: any SQLDatabase, row: (any SQLRow) throws -> Void
    ) async throws {
        try await write(Self.encode(transactions), returningIDs: returningIDs, on: db, row: row)
    }

    private func write(
        _ encoded: EncodedTransactions, returningIDs: Bool, on db: any SQLDatabase, row: (any SQLRow) throws -> Void
    ) async throws {
        if let fresh = encoded.fresh {
            precondition(!returningIDs, "rows for COPY are written without reading ids back")
            try await copy(fresh, on: db)
        }
        let sql = database.engine == .postgres ? Self.postgresUpsert : Self.sqliteUpsert
        let returning = returningIDs ? " RETURNING id, account_id, provider_transaction_id" : ""
        for chunk in encoded.chunks {
            let statement = SQLQueryString("\(unsafeRaw: sql.prefix)\(bind: chunk)\(unsafeRaw: sql.suffix)\(unsafeRaw: returning)")
            if returningIDs {
                for stored in try await db.execute(sql: statement) { try row(stored) }
            } else {
                try await db.execute(sql: statement) { _ in }
            }
        }
    }

    /// PostgreSQL: `COPY`s rows believed new, under a savepoint; when one exists after all (a
    /// unique violation), rolls back to the savepoint and upserts them instead, so nothing else
    /// in the caller's transaction is lost and the row is updated as the upsert would.
    private func copy(_ fresh: FreshRows, on db: any SQLDatabase) async throws {
        // Only a session of ``Database`` carries its connection; any other handle takes the upsert.
        guard let session = db as? PostgresSession else { return try await write(Self.encode(fresh.rows), on: db) }
        try await db.raw("SAVEPOINT banksync_transactions_copy").run()
        do {
            try await session.connection.copyFrom(table: "transactions", columns: Self.columns, logger: database.logger) { writer in
                try await writer.write(ByteBuffer(bytes: fresh.text))
            }
            try await db.raw("RELEASE SAVEPOINT banksync_transactions_copy").run()
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            try await db.raw("ROLLBACK TO SAVEPOINT banksync_transactions_copy").run()
            database.logger.debug("rows taken for new were stored already; upserting them", metadata: ["rows": "\(fresh.rows.count)"])
            try await write(Self.encode(fresh.rows), on: db)
        }
    }

    /// The upsert reading its rows from one JSON parameter: SQLite's `->>` yields each
    /// element with its JSON type (integer, real, text, null); `WHERE true` is SQLite's rule
    /// for an upsert fed by a SELECT. `jsonb_each`, not `json_each`: it hands each row to `->>`
    /// as a slice of the parsed binary form, where `json_each` printed every row back to JSON
    /// text for `->>` to parse again (7 % of an initial sync's CPU).
    static let sqliteUpsert: (prefix: String, suffix: String) = (
        "INSERT INTO transactions (\(columns.joined(separator: ", "))) SELECT "
            + (0..<columns.count).map { "value ->> \($0)" }.joined(separator: ", ") + " FROM jsonb_each(",
        ") WHERE true " + conflict
    )

    /// PostgreSQL: `jsonb` is parsed once, elements are read by position and cast to the
    /// column's type.
    static let postgresUpsert: (prefix: String, suffix: String) = (
        "INSERT INTO transactions (\(columns.joined(separator: ", "))) SELECT "
            + columns.enumerated().map { index, column in
                switch column {
                case "amount_minor", "removed_at", "processed_at", "categorized_at", "created_at", "updated_at": "(r ->> \(index))::bigint"
                case "category_confidence": "(r ->> \(index))::double precision"
                default: "r ->> \(index)"
                }
            }.joined(separator: ", ") + " FROM jsonb_array_elements(",
        "::jsonb) AS r " + conflict
    )

    /// One row in ``columns`` order.
    static func encode(_ t: Transaction, into rows: inout some RowWriter) {
        rows.beginRow()
        rows.string(t.id.rawValue)
        rows.string(t.accountID.rawValue)
        rows.string(t.userID.rawValue)
        rows.string(t.providerTransactionID)
        rows.string(t.status.rawValue)
        rows.int(t.amount.minorUnits)
        rows.string(t.amount.currency.code)
        rows.string(t.date.description)
        rows.string(t.authorizedDate?.description)
        rows.string(t.description)
        rows.string(t.merchantName)
        rows.string(t.counterparty)
        rows.string(t.providerCategory)
        rows.string(t.category?.category)
        rows.double(t.category?.confidence)
        rows.string(t.category?.source.rawValue)
        rows.string(t.pendingTransactionID)
        rows.int(t.removedAt.milliseconds)
        rows.int(t.processedAt.milliseconds)
        rows.int(t.categorizedAt.milliseconds)
        rows.int(t.createdAt.millisecondsSince1970)
        rows.int(t.updatedAt.millisecondsSince1970)
        rows.endRow()
    }

    /// Marks rows removed (they stay, with `removed_at`, so a removal is auditable and undoable).
    /// - Returns: how many live rows were marked.
    @discardableResult
    public func markRemoved(_ keys: [TransactionKey], at time: Date, on db: any SQLDatabase) async throws -> Int {
        var count = 0
        for chunk in stride(from: 0, to: keys.count, by: 400).map({ Array(keys[$0..<min($0 + 400, keys.count)]) }) {
            let byAccount = Dictionary(grouping: chunk, by: \.accountID)
            for (account, rows) in byAccount.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                count += try await db.raw(
                    """
                    UPDATE transactions SET removed_at = \(bind: time.millisecondsSince1970), updated_at = \(bind: time.millisecondsSince1970)
                    WHERE account_id = \(bind: account.rawValue) AND removed_at IS NULL
                      AND provider_transaction_id IN (\(binds: rows.map(\.providerTransactionID)))
                    RETURNING id
                    """
                ).all().count
            }
        }
        return count
    }

    /// An account's live (not removed) rows dated `from…to`, on `db`: what a date-window sync
    /// compares the provider's answer with.
    public func live(accountID: Identifier<Account>, from: CalendarDate, to: CalendarDate, on db: any SQLDatabase) async throws -> [Transaction] {
        try await db.raw(
            """
            SELECT * FROM transactions WHERE account_id = \(bind: accountID.rawValue) AND removed_at IS NULL
              AND date >= \(bind: from.description) AND date <= \(bind: to.description)
            ORDER BY date, id
            """
        ).all().map(Self.decode)
    }

    /// Gives each posted row the category the user chose on the pending row it replaced, for
    /// many settlements in one statement per 2,000 (rows without a user's choice on the pending
    /// side are left alone). A posted row named twice takes its last pending row's choice.
    /// The pending side is read as it was before the statement: a row that is both a posted
    /// row here and a pending row of another pair passes on its old category, not the one it
    /// receives (settlement chains do not happen within one sync).
    public func carryUserCategories(_ settlements: [(pending: TransactionKey, posted: TransactionKey)], on db: any SQLDatabase) async throws {
        let postgres = database.engine == .postgres
        let texts = JSONRows.texts(settlements, key: \.posted, rowsPerText: Self.rowsPerStatement, bytesPerRow: 120) { settlement, rows in
            rows.beginRow()
            rows.string(settlement.pending.accountID.rawValue)
            rows.string(settlement.pending.providerTransactionID)
            rows.string(settlement.posted.accountID.rawValue)
            rows.string(settlement.posted.providerTransactionID)
            rows.endRow()
        }
        for text in texts {
            // The pending rows with a user's choice are found first (CROSS JOIN fixes SQLite's
            // join order; the CTE is materialized), so the posted rows are looked up only for
            // those: usually none, where updating straight from the join probed every posted row.
            let choices: SQLQueryString =
                postgres
                ? """
                SELECT r ->> 2 AS posted_account, r ->> 3 AS posted_id, t.category, t.category_confidence, t.category_source, t.categorized_at
                FROM jsonb_array_elements(\(bind: text)::jsonb) AS r
                JOIN transactions AS t ON t.account_id = r ->> 0 AND t.provider_transaction_id = r ->> 1
                WHERE t.category_source = 'user'
                """
                : """
                SELECT j.value ->> 2 AS posted_account, j.value ->> 3 AS posted_id, t.category, t.category_confidence, t.category_source, t.categorized_at
                FROM jsonb_each(\(bind: text)) AS j
                CROSS JOIN transactions AS t ON t.account_id = j.value ->> 0 AND t.provider_transaction_id = j.value ->> 1
                WHERE t.category_source = 'user'
                """
            try await db.execute(
                sql: SQLQueryString(
                    """
                    WITH p AS MATERIALIZED (\(choices))
                    UPDATE transactions SET category = p.category, category_confidence = p.category_confidence,
                        category_source = p.category_source, categorized_at = p.categorized_at
                    FROM p
                    WHERE transactions.account_id = p.posted_account AND transactions.provider_transaction_id = p.posted_id
                    """)
            ) { _ in }
        }
    }

    /// The transaction with `id`, or nil.
    public func get(_ id: Identifier<Transaction>) async throws -> Transaction? {
        try await database.withReadSession { db in
            try await db.raw("SELECT * FROM transactions WHERE id = \(bind: id.rawValue)").first().map(Self.decode)
        }
    }

    /// The transaction an account has under a provider id, or nil.
    public func find(accountID: Identifier<Account>, providerTransactionID: String) async throws -> Transaction? {
        try await database.withReadSession { db in
            try await db.raw(
                """
                SELECT * FROM transactions WHERE account_id = \(bind: accountID.rawValue)
                AND provider_transaction_id = \(bind: providerTransactionID)
                """
            ).first().map(Self.decode)
        }
    }

    /// A user's transactions, newest first, optionally between two dates (inclusive).
    /// Removed transactions are left out unless `includeRemoved`. Served by `transactions_user_date`.
    public func list(
        userID: Identifier<User>, from: CalendarDate? = nil, to: CalendarDate? = nil, includeRemoved: Bool = false,
        limit: Int = 100
    ) async throws -> [Transaction] {
        var query = SQLQueryString("SELECT * FROM transactions WHERE user_id = \(bind: userID.rawValue)")
        if let from { query = query + " AND date >= \(bind: from.description)" }
        if let to { query = query + " AND date <= \(bind: to.description)" }
        if !includeRemoved { query = query + " AND removed_at IS NULL" }
        query = query + " ORDER BY date DESC, id LIMIT \(bind: limit)"
        let finished = query
        return try await database.withReadSession { db in try await db.raw(finished).all().map(Self.decode) }
    }

    /// Filters of ``page(userID:filter:after:limit:)``.
    public struct PageFilter: Sendable {
        public var accountID: Identifier<Account>?
        public var from: CalendarDate?
        public var to: CalendarDate?
        /// A category code: rows with this code, or (a primary code) any of its detailed codes.
        public var category: String?
        public var pending: Bool?

        public init(accountID: Identifier<Account>? = nil, from: CalendarDate? = nil, to: CalendarDate? = nil, category: String? = nil, pending: Bool? = nil) {
            self.accountID = accountID
            self.from = from
            self.to = to
            self.category = category
            self.pending = pending
        }
    }

    /// One page of a user's live transactions in a stable order — date, newest first, then
    /// id — continuing after `after` (the last row of the previous page). Keyset paging: rows
    /// inserted meanwhile never shift a page, so none is skipped or repeated. Served by
    /// `transactions_user_date`.
    public func page(userID: Identifier<User>, filter: PageFilter = PageFilter(), after: (date: CalendarDate, id: String)? = nil, limit: Int = 100) async throws
        -> [Transaction]
    {
        // Built by hand for each engine and decoded by column position: the API's transactions
        // page runs this, and SQLKit's decoding by name (a lookup and a dynamic cast per cell)
        // was a sixth of that request's CPU.
        var binds: [PageBind] = []
        let postgres = database.engine == .postgres
        /// Binds `value` and returns its placeholder (`$n` or `?`, in bind order).
        func bind(_ value: PageBind) -> String {
            binds.append(value)
            return postgres ? "$\(binds.count)" : "?"
        }
        var sql = "SELECT \(Self.selectList) FROM transactions WHERE user_id = \(bind(.text(userID.rawValue))) AND removed_at IS NULL"
        if let account = filter.accountID { sql += " AND account_id = \(bind(.text(account.rawValue)))" }
        if let from = filter.from { sql += " AND date >= \(bind(.text(from.description)))" }
        if let to = filter.to { sql += " AND date <= \(bind(.text(to.description)))" }
        if let category = filter.category {
            let pattern = category.replacingOccurrences(of: "_", with: "\\_") + "\\_%"
            sql += " AND (category = \(bind(.text(category))) OR category LIKE \(bind(.text(pattern))) ESCAPE '\\')"
        }
        if let pending = filter.pending { sql += " AND status = \(bind(.text(pending ? "pending" : "posted")))" }
        if let after {
            let date = after.date.description
            sql += " AND (date < \(bind(.text(date))) OR (date = \(bind(.text(date))) AND id > \(bind(.text(after.id)))))"
        }
        sql += " ORDER BY date DESC, id LIMIT \(bind(.integer(limit)))"
        let statement = sql
        let values = binds
        if let rows = try await database.withSQLiteReader({ connection in
            try await connection.query(statement, values.map(\.sqlite)).map { try Self.decode(SQLiteCells(columns: $0.columns)) }
        }) {
            return rows
        }
        if let rows = try await database.withPostgresConnection({ connection in
            var bindings = PostgresBindings(capacity: values.count)
            for value in values {
                switch value {
                case .text(let text): bindings.append(text)
                case .integer(let number): bindings.append(number)
                }
            }
            var decoded: [Transaction] = []
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: statement, binds: bindings), logger: database.logger) {
                decoded.append(try Self.decode(PostgresCells(row: PostgresRandomAccessRow(row))))
            }
            return decoded
        }) {
            return rows
        }
        throw StoreError(.unreachable, "the database has no connection for the transactions page")
    }

    /// A value bound to the page query.
    enum PageBind: Sendable {
        case text(String)
        case integer(Int)

        var sqlite: SQLiteData {
            switch self {
            case .text(let text): .text(text)
            case .integer(let number): .integer(number)
            }
        }
    }

    /// How many transactions an account has (removed ones included).
    public func count(accountID: Identifier<Account>) async throws -> Int {
        try await database.withReadSession { db in
            try await db.raw("SELECT count(*) AS n FROM transactions WHERE account_id = \(bind: accountID.rawValue)")
                .first()?.int("n") ?? 0
        }
    }

    /// The bound values of one row, in ``columns`` order.
    public static func encode(_ t: Transaction) -> [any Encodable & Sendable] {
        [
            t.id.rawValue, t.accountID.rawValue, t.userID.rawValue, t.providerTransactionID, t.status.rawValue,
            t.amount.minorUnits, t.amount.currency.code, t.date.description, t.authorizedDate?.description,
            t.description, t.merchantName, t.counterparty, t.providerCategory, t.category?.category,
            t.category?.confidence, t.category?.source.rawValue, t.pendingTransactionID, t.removedAt.milliseconds,
            t.processedAt.milliseconds, t.categorizedAt.milliseconds, t.createdAt.millisecondsSince1970,
            t.updatedAt.millisecondsSince1970,
        ]
    }

    /// The columns a transaction row is read from, in the order ``decode(_:)-(TransactionCells)`` reads them.
    static let selectColumns = [
        "id", "account_id", "user_id", "provider_transaction_id", "status", "amount_minor", "currency", "date", "authorized_date",
        "description", "merchant_name", "counterparty", "provider_category", "category", "category_confidence", "category_source",
        "pending_transaction_id", "removed_at", "processed_at", "categorized_at", "category_note", "created_at", "updated_at",
    ]
    static let selectList = selectColumns.joined(separator: ", ")

    static func decode(_ row: any SQLRow) throws -> Transaction { try decode(NamedCells(row: row)) }

    /// A transaction from its cells, read by position in ``selectColumns``.
    static func decode(_ cells: some TransactionCells) throws -> Transaction {
        func required(_ index: Int) throws -> String {
            guard let text = try cells.text(index) else { throw StoreError(.invalidData, "column \(selectColumns[index]) is NULL") }
            return text
        }
        func requiredInteger(_ index: Int) throws -> Int64 {
            guard let number = try cells.integer(index) else { throw StoreError(.invalidData, "column \(selectColumns[index]) is NULL") }
            return number
        }
        func value<E: RawRepresentable>(_ index: Int, as type: E.Type) throws -> E where E.RawValue == String {
            let raw = try required(index)
            guard let value = E(rawValue: raw) else { throw StoreError(.invalidData, "column \(selectColumns[index]) holds an unknown \(E.self) '\(raw)'") }
            return value
        }
        func date(_ raw: String, _ index: Int) throws -> CalendarDate {
            do { return try CalendarDate(parsing: raw) } catch { throw StoreError(.invalidData, "column \(selectColumns[index]) holds an invalid date '\(raw)'") }
        }
        var category: CategoryAssignment?
        if let name = try cells.text(13) {
            category = CategoryAssignment(category: name, confidence: try cells.real(14) ?? 0, source: try value(15, as: CategorySource.self))
        }
        let code = try required(6)
        let currency: Currency
        do { currency = try Currency(code: code) } catch { throw StoreError(.invalidData, "column currency holds an unknown currency '\(code)'") }
        return Transaction(
            id: Identifier(try required(0)), accountID: Identifier(try required(1)), userID: Identifier(try required(2)),
            providerTransactionID: try required(3), status: try value(4, as: TransactionStatus.self),
            amount: Money(minorUnits: try requiredInteger(5), currency: currency), date: try date(try required(7), 7),
            authorizedDate: try cells.text(8).map { try date($0, 8) }, description: try required(9), merchantName: try cells.text(10),
            counterparty: try cells.text(11), providerCategory: try cells.text(12), category: category, pendingTransactionID: try cells.text(16),
            removedAt: try cells.integer(17).map(Date.init(millisecondsSince1970:)), processedAt: try cells.integer(18).map(Date.init(millisecondsSince1970:)),
            categorizedAt: try cells.integer(19).map(Date.init(millisecondsSince1970:)), categoryNote: try cells.text(20),
            createdAt: Date(millisecondsSince1970: try requiredInteger(21)), updatedAt: Date(millisecondsSince1970: try requiredInteger(22)))
    }
}

/// A transaction row's cells by position in ``TransactionRepository/selectColumns``; nil is NULL.
protocol TransactionCells {
    func text(_ index: Int) throws -> String?
    func integer(_ index: Int) throws -> Int64?
    func real(_ index: Int) throws -> Double?
}

/// Any SQLKit row (`SELECT *` included), read by column name.
struct NamedCells: TransactionCells {
    let row: any SQLRow
    func text(_ index: Int) throws -> String? { try row.decode(column: TransactionRepository.selectColumns[index], as: String?.self) }
    func integer(_ index: Int) throws -> Int64? { try row.decode(column: TransactionRepository.selectColumns[index], as: Int64?.self) }
    func real(_ index: Int) throws -> Double? { try row.decode(column: TransactionRepository.selectColumns[index], as: Double?.self) }
}

/// An SQLite row of the page query, read by position.
struct SQLiteCells: TransactionCells {
    let columns: [SQLiteColumn]

    func text(_ index: Int) throws -> String? {
        switch columns[index].data {
        case .text(let text): return text
        case .null: return nil
        default: throw mismatch(index, "text")
        }
    }

    func integer(_ index: Int) throws -> Int64? {
        switch columns[index].data {
        case .integer(let number): return Int64(number)
        case .null: return nil
        default: throw mismatch(index, "an integer")
        }
    }

    func real(_ index: Int) throws -> Double? {
        switch columns[index].data {
        case .float(let number): return number
        case .integer(let number): return Double(number)
        case .null: return nil
        default: throw mismatch(index, "a number")
        }
    }

    private func mismatch(_ index: Int, _ expected: String) -> StoreError {
        StoreError(.invalidData, "column \(TransactionRepository.selectColumns[index]) holds \(columns[index].data), not \(expected)")
    }
}

/// A PostgreSQL row of the page query, read by position.
struct PostgresCells: TransactionCells {
    let row: PostgresRandomAccessRow
    func text(_ index: Int) throws -> String? { try row[index].decode(String?.self) }
    func integer(_ index: Int) throws -> Int64? { try row[index].decode(Int64?.self) }
    func real(_ index: Int) throws -> Double? { try row[index].decode(Double?.self) }
}

/// A transaction's identity: the account and the provider's id for it.
public struct TransactionKey: Hashable, Sendable {
    public var accountID: Identifier<Account>
    public var providerTransactionID: String

    public init(accountID: Identifier<Account>, providerTransactionID: String) {
        self.accountID = accountID
        self.providerTransactionID = providerTransactionID
    }

    /// The key `transaction` is stored under.
    init(of transaction: Transaction) {
        self.init(accountID: transaction.accountID, providerTransactionID: transaction.providerTransactionID)
    }
}
