public import BankSyncCore
public import Foundation
public import SQLKit

/// Accounts, their current balances and their daily balance history.
public struct AccountRepository: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    static let columns = [
        "id", "connection_id", "user_id", "provider_account_id", "name", "official_name", "mask", "type", "subtype",
        "status", "currency", "created_at", "updated_at",
    ]
    static let conflict = """
        ON CONFLICT (connection_id, provider_account_id) DO UPDATE SET name = excluded.name,
        official_name = excluded.official_name, mask = excluded.mask, type = excluded.type, subtype = excluded.subtype,
        status = excluded.status, currency = excluded.currency, updated_at = excluded.updated_at
        """

    /// Inserts or updates accounts by (connection, provider account id), in one transaction.
    /// - Returns: the stored id of each account, keyed by provider account id (an existing
    ///   account keeps its id).
    @discardableResult
    public func upsert(_ accounts: [Account]) async throws -> [String: Identifier<Account>] {
        guard !accounts.isEmpty else { return [:] }
        return try await database.transaction { db in try await upsert(accounts, on: db) }
    }

    /// ``upsert(_:)`` on the caller's transaction (discovery commits the accounts with the jobs
    /// they cause).
    @discardableResult
    public func upsert(_ accounts: [Account], on db: any SQLDatabase) async throws -> [String: Identifier<Account>] {
        guard !accounts.isEmpty else { return [:] }
        let size = BatchUpsert.batchSize(columns: Self.columns.count, engine: database.engine)
        var ids: [String: Identifier<Account>] = [:]
        for start in stride(from: 0, to: accounts.count, by: size) {
            let rows: [[any Encodable & Sendable]] = accounts[start..<min(start + size, accounts.count)].map { a in
                [
                    a.id.rawValue, a.connectionID.rawValue, a.userID.rawValue, a.providerAccountID, a.name,
                    a.officialName, a.mask, a.type.rawValue, a.subtype, a.status.rawValue, a.currency.code,
                    a.createdAt.millisecondsSince1970, a.updatedAt.millisecondsSince1970,
                ]
            }
            let statement = BatchUpsert(
                table: "accounts", columns: Self.columns, rows: rows, conflictClause: Self.conflict,
                returning: "id, provider_account_id")
            for row in try await db.execute(sql: statement) {
                ids[try row.text("provider_account_id")] = try row.identifier("id")
            }
        }
        return ids
    }

    /// Gives an account the provider's new id for it (a GoCardless reconnect issues new account
    /// ids for the same bank accounts), keeping BankSync's id and so its transactions.
    public func reidentify(_ id: Identifier<Account>, providerAccountID: String, now: Date) async throws {
        try await database.withSession { db in
            try await db.raw(
                """
                UPDATE accounts SET provider_account_id = \(bind: providerAccountID), updated_at = \(bind: now.millisecondsSince1970)
                WHERE id = \(bind: id.rawValue)
                """
            ).run()
        }
    }

    /// The account with `id`, or nil.
    public func get(_ id: Identifier<Account>) async throws -> Account? {
        try await database.withReadSession { db in
            try await db.raw("SELECT * FROM accounts WHERE id = \(bind: id.rawValue)").first().map(Self.decode)
        }
    }

    /// The accounts of a connection, by name.
    public func list(connectionID: Identifier<Connection>) async throws -> [Account] {
        try await database.withReadSession { db in
            try await db.raw("SELECT * FROM accounts WHERE connection_id = \(bind: connectionID.rawValue) ORDER BY name, id")
                .all().map(Self.decode)
        }
    }

    /// Records the latest balance and that day's history point, in one transaction.
    ///
    /// An older reading (by `asOf`) never overwrites a newer one; within a day the latest wins.
    public func recordBalance(_ balance: Balance) async throws {
        try await database.transaction { db in _ = try await recordBalance(balance, on: db) }
    }

    /// ``recordBalance(_:)`` on the caller's transaction.
    /// - Returns: the reading it replaced as the latest (nil when there was none, or when
    ///   `balance` is older than the stored one and so replaced nothing).
    public func recordBalance(_ balance: Balance, on db: any SQLDatabase) async throws -> Balance? {
        let date = CalendarDate(balance.asOf).description
        let previous = try await db.raw("SELECT * FROM balances WHERE account_id = \(bind: balance.accountID.rawValue)").first().map(Self.decodeBalance)
        let replaces = previous.map { $0.asOf <= balance.asOf } ?? true
        try await db.raw(
            """
            INSERT INTO balances (account_id, currency, current_minor, available_minor, limit_minor, as_of)
            VALUES (\(bind: balance.accountID.rawValue), \(bind: balance.current.currency.code),
                \(bind: balance.current.minorUnits), \(bind: balance.available?.minorUnits),
                \(bind: balance.limit?.minorUnits), \(bind: balance.asOf.millisecondsSince1970))
            ON CONFLICT (account_id) DO UPDATE SET currency = excluded.currency,
                current_minor = excluded.current_minor, available_minor = excluded.available_minor,
                limit_minor = excluded.limit_minor, as_of = excluded.as_of
            WHERE excluded.as_of >= balances.as_of
            """
        ).run()
        try await db.raw(
            """
            INSERT INTO balance_history (account_id, date, currency, current_minor, available_minor)
            VALUES (\(bind: balance.accountID.rawValue), \(bind: date), \(bind: balance.current.currency.code),
                \(bind: balance.current.minorUnits), \(bind: balance.available?.minorUnits))
            ON CONFLICT (account_id, date) DO UPDATE SET currency = excluded.currency,
                current_minor = excluded.current_minor, available_minor = excluded.available_minor
            """
        ).run()
        return replaces ? previous : nil
    }

    /// The latest balance of an account, or nil if none was recorded.
    public func balance(accountID: Identifier<Account>) async throws -> Balance? {
        try await database.withReadSession { db in
            try await db.raw("SELECT * FROM balances WHERE account_id = \(bind: accountID.rawValue)").first().map(Self.decodeBalance)
        }
    }

    static func decodeBalance(_ row: any SQLRow) throws -> Balance {
        let currency = try row.currency("currency")
        return Balance(
            accountID: try row.identifier("account_id"), current: Money(minorUnits: try row.int64("current_minor"), currency: currency),
            available: try row.optionalInt64("available_minor").map { Money(minorUnits: $0, currency: currency) },
            limit: try row.optionalInt64("limit_minor").map { Money(minorUnits: $0, currency: currency) },
            asOf: try row.instant("as_of"))
    }

    /// Daily balances of an account between two dates inclusive, oldest first.
    public func balanceHistory(accountID: Identifier<Account>, from: CalendarDate, to: CalendarDate) async throws
        -> [BalanceSnapshot]
    {
        try await database.withReadSession { db in
            try await db.raw(
                """
                SELECT * FROM balance_history WHERE account_id = \(bind: accountID.rawValue)
                AND date >= \(bind: from.description) AND date <= \(bind: to.description) ORDER BY date
                """
            ).all().map { row in
                let currency = try row.currency("currency")
                return BalanceSnapshot(
                    accountID: accountID, date: try row.calendarDate("date"),
                    current: Money(minorUnits: try row.int64("current_minor"), currency: currency),
                    available: try row.optionalInt64("available_minor").map { Money(minorUnits: $0, currency: currency) })
            }
        }
    }

    /// Widens the account's fetched range to include `from…to`, inside the sync's transaction.
    /// Older days fetched for the first time change what the balance's unfetched part is, so the
    /// ledger baseline is dropped then (the next check takes a new one).
    public func extendCoverage(_ id: Identifier<Account>, from: CalendarDate, to: CalendarDate, on db: any SQLDatabase) async throws {
        try await db.raw(
            """
            UPDATE accounts SET
                ledger_baseline_minor = CASE WHEN coverage_from IS NOT NULL AND coverage_from > \(bind: from.description) THEN NULL ELSE ledger_baseline_minor END,
                coverage_from = CASE WHEN coverage_from IS NULL OR coverage_from > \(bind: from.description) THEN \(bind: from.description) ELSE coverage_from END,
                coverage_to = CASE WHEN coverage_to IS NULL OR coverage_to < \(bind: to.description) THEN \(bind: to.description) ELSE coverage_to END
            WHERE id = \(bind: id.rawValue)
            """
        ).run()
    }

    /// What the ledger check knows about an account.
    public struct LedgerState: Sendable, Equatable {
        /// The first and last day whose rows were fetched.
        public var coverageFrom: CalendarDate?
        public var coverageTo: CalendarDate?
        /// Balance minus the sum of stored posted rows when coverage last changed at its start:
        /// the part of the balance older than the fetched range. It stays constant while the
        /// rows are complete and correctly signed.
        public var baselineMinor: Int64?
        /// Why the last check failed, nil when it passed.
        public var issue: String?
        public var checkedAt: Date?
    }

    public func ledgerState(_ id: Identifier<Account>) async throws -> LedgerState? {
        try await database.withReadSession { db in
            guard let row = try await db.raw(
                "SELECT coverage_from, coverage_to, ledger_baseline_minor, ledger_issue, ledger_checked_at FROM accounts WHERE id = \(bind: id.rawValue)"
            ).first() else { return nil }
            return LedgerState(
                coverageFrom: try row.optionalCalendarDate("coverage_from"), coverageTo: try row.optionalCalendarDate("coverage_to"),
                baselineMinor: try row.optionalInt64("ledger_baseline_minor"), issue: try row.optionalText("ledger_issue"),
                checkedAt: try row.optionalInstant("ledger_checked_at"))
        }
    }

    /// What one ledger check found for an account: its new baseline (when one is taken) and
    /// its issue (nil when the rows add up).
    public struct LedgerCheckRecord: Sendable, Equatable {
        public var accountID: Identifier<Account>
        public var baselineMinor: Int64?
        public var issue: String?

        public init(accountID: Identifier<Account>, baselineMinor: Int64?, issue: String?) {
            self.accountID = accountID
            self.baselineMinor = baselineMinor
            self.issue = issue
        }
    }

    /// Records ledger checks' outcomes (and new baselines where given), all in one session.
    public func recordLedgerChecks(_ checks: [LedgerCheckRecord], at time: Date) async throws {
        guard !checks.isEmpty else { return }
        try await database.transaction { db in
            for check in checks {
                // A nil baseline keeps the stored one.
                try await db.raw(
                    """
                    UPDATE accounts SET ledger_baseline_minor = COALESCE(\(bind: check.baselineMinor), ledger_baseline_minor),
                        ledger_issue = \(bind: check.issue), ledger_checked_at = \(bind: time.millisecondsSince1970)
                    WHERE id = \(bind: check.accountID.rawValue)
                    """
                ).run()
            }
        }
    }

    /// The sum of the account's live posted rows, in minor units.
    public func postedSum(_ id: Identifier<Account>) async throws -> Int64 {
        try await database.withReadSession { db in
            try await db.raw(
                """
                SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS total FROM transactions
                WHERE account_id = \(bind: id.rawValue) AND status = 'posted' AND removed_at IS NULL
                """
            ).first()?.decode(column: "total", as: Int64.self) ?? 0
        }
    }

    static func decode(_ row: any SQLRow) throws -> Account {
        Account(
            id: try row.identifier("id"), connectionID: try row.identifier("connection_id"),
            userID: try row.identifier("user_id"), providerAccountID: try row.text("provider_account_id"),
            name: try row.text("name"), officialName: try row.optionalText("official_name"),
            mask: try row.optionalText("mask"), type: try row.enumValue("type", as: AccountType.self),
            subtype: try row.optionalText("subtype"), status: try row.enumValue("status", as: AccountStatus.self),
            currency: try row.currency("currency"), createdAt: try row.instant("created_at"),
            updatedAt: try row.instant("updated_at"))
    }
}
