public import BankSyncCore
public import Foundation
public import SQLKit

/// What categorization reads and writes: rules, each user's merchant memory, the rows still to
/// categorize and the decisions about them.
public struct CategorizationRepository: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    // MARK: Rules

    /// Stores a new rule or replaces the one with its id.
    public func saveRule(_ rule: CategoryRule) async throws {
        let conditions = String(decoding: try JSONEncoder().encode(rule.conditions), as: UTF8.self)
        try await database.withSession { db in
            try await db.raw(
                """
                INSERT INTO category_rules (id, tenant_id, user_id, name, priority, conditions, category, enabled, created_at, updated_at)
                VALUES (\(bind: rule.id.rawValue), \(bind: rule.tenantID.rawValue), \(bind: rule.userID?.rawValue), \(bind: rule.name),
                    \(bind: rule.priority), \(bind: conditions), \(bind: rule.category), \(bind: rule.enabled ? 1 : 0),
                    \(bind: rule.createdAt.millisecondsSince1970), \(bind: rule.updatedAt.millisecondsSince1970))
                ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, name = excluded.name, priority = excluded.priority,
                    conditions = excluded.conditions, category = excluded.category, enabled = excluded.enabled, updated_at = excluded.updated_at
                """
            ).run()
        }
    }

    public func deleteRule(_ id: Identifier<CategoryRule>, tenantID: Identifier<Tenant>) async throws {
        try await database.withSession { db in
            try await db.raw("DELETE FROM category_rules WHERE id = \(bind: id.rawValue) AND tenant_id = \(bind: tenantID.rawValue)").run()
        }
    }

    /// The enabled rules that apply to `userID` (theirs and the tenant's), in the order they
    /// are tried: priority, then the user's own first, then age.
    public func rules(tenantID: Identifier<Tenant>, userID: Identifier<User>) async throws -> [CategoryRule] {
        try await database.withSession { db in
            try await db.raw(
                """
                SELECT * FROM category_rules WHERE tenant_id = \(bind: tenantID.rawValue) AND enabled = 1
                  AND (user_id IS NULL OR user_id = \(bind: userID.rawValue))
                ORDER BY priority, CASE WHEN user_id IS NULL THEN 1 ELSE 0 END, created_at, id
                """
            ).all().map(Self.decodeRule)
        }
    }

    /// One rule of `tenantID` (nil: none, or another tenant's).
    public func rule(_ id: Identifier<CategoryRule>, tenantID: Identifier<Tenant>) async throws -> CategoryRule? {
        try await database.withSession { db in
            try await db.raw("SELECT * FROM category_rules WHERE id = \(bind: id.rawValue) AND tenant_id = \(bind: tenantID.rawValue)").first().map(Self.decodeRule)
        }
    }

    /// Every rule of the tenant (enabled or not), with `userID` the tenant-wide ones and that
    /// user's, else only the tenant-wide ones; in the order they are tried.
    public func allRules(tenantID: Identifier<Tenant>, userID: Identifier<User>? = nil) async throws -> [CategoryRule] {
        let users: SQLQueryString = userID.map { "AND (user_id IS NULL OR user_id = \(bind: $0.rawValue))" } ?? "AND user_id IS NULL"
        return try await database.withSession { db in
            try await db.raw(
                """
                SELECT * FROM category_rules WHERE tenant_id = \(bind: tenantID.rawValue) \(users)
                ORDER BY priority, CASE WHEN user_id IS NULL THEN 1 ELSE 0 END, created_at, id
                """
            ).all().map(Self.decodeRule)
        }
    }

    static func decodeRule(_ row: any SQLRow) throws -> CategoryRule {
        let conditions: [RuleCondition]
        do { conditions = try JSONDecoder().decode([RuleCondition].self, from: Data(try row.text("conditions").utf8)) } catch {
            throw StoreError(.invalidData, "column conditions of rule \(try row.text("id")) is not readable: \(error)")
        }
        return CategoryRule(
            id: try row.identifier("id"), tenantID: try row.identifier("tenant_id"),
            userID: try row.optionalText("user_id").map { Identifier($0) }, name: try row.text("name"), priority: try row.int("priority"),
            conditions: conditions, category: try row.text("category"), enabled: try row.int("enabled") != 0,
            createdAt: try row.instant("created_at"), updatedAt: try row.instant("updated_at"))
    }

    // MARK: Merchant memory

    /// Remembers that `userID` files `merchantKey` under `category`.
    public func remember(userID: Identifier<User>, merchantKey: String, category: String, now: Date, on db: any SQLDatabase) async throws {
        try await db.raw(
            """
            INSERT INTO merchant_categories (user_id, merchant_key, category, updated_at)
            VALUES (\(bind: userID.rawValue), \(bind: merchantKey), \(bind: category), \(bind: now.millisecondsSince1970))
            ON CONFLICT (user_id, merchant_key) DO UPDATE SET category = excluded.category, updated_at = excluded.updated_at
            """
        ).run()
    }

    /// Merchant key → category, for one user.
    public func memory(userID: Identifier<User>) async throws -> [String: String] {
        try await database.withSession { db in
            var memory: [String: String] = [:]
            for row in try await db.raw("SELECT merchant_key, category FROM merchant_categories WHERE user_id = \(bind: userID.rawValue)").all() {
                memory[try row.text("merchant_key")] = try row.text("category")
            }
            return memory
        }
    }

    // MARK: Transactions

    /// Up to `limit` of the user's live rows the categorizer has not decided about, oldest first.
    public func uncategorized(userID: Identifier<User>, limit: Int) async throws -> [Transaction] {
        try await database.withSession { db in
            try await db.raw(
                """
                SELECT * FROM transactions WHERE user_id = \(bind: userID.rawValue) AND categorized_at IS NULL AND removed_at IS NULL
                  AND (category_source IS NULL OR category_source <> 'user')
                ORDER BY date, id LIMIT \(bind: limit)
                """
            ).all().map(TransactionRepository.decode)
        }
    }

    /// One decision about one row.
    public struct Decision: Sendable, Hashable {
        public var transactionID: Identifier<Transaction>
        /// Nil: left uncategorized (the note says why).
        public var category: CategoryAssignment?
        public var note: String

        public init(transactionID: Identifier<Transaction>, category: CategoryAssignment?, note: String) {
            self.transactionID = transactionID
            self.category = category
            self.note = note
        }
    }

    /// Writes decisions in one transaction. A row the user categorized meanwhile is left
    /// alone; a row decided by a concurrent run is overwritten with the same answer.
    /// - Returns: rows written.
    @discardableResult
    public func apply(_ decisions: [Decision], at time: Date) async throws -> Int {
        guard !decisions.isEmpty else { return 0 }
        return try await database.transaction { db in
            var written = 0
            for decision in decisions {
                written += try await db.raw(
                    """
                    UPDATE transactions SET category = \(bind: decision.category?.category),
                        category_confidence = \(bind: decision.category?.confidence), category_source = \(bind: decision.category?.source.rawValue),
                        category_note = \(bind: decision.note), categorized_at = \(bind: time.millisecondsSince1970)
                    WHERE id = \(bind: decision.transactionID.rawValue) AND (category_source IS NULL OR category_source <> 'user')
                    RETURNING id
                    """
                ).all().count
            }
            return written
        }
    }

    /// The user's own choice for one row, and the merchant remembered for their next rows, in
    /// one transaction.
    /// - Throws: ``StoreError`` `.notFound` when the row is not this user's.
    public func setUserCategory(_ id: Identifier<Transaction>, userID: Identifier<User>, category: String, merchantKey: String?, now: Date) async throws {
        try await database.transaction { db in
            let updated = try await db.raw(
                """
                UPDATE transactions SET category = \(bind: category), category_confidence = 1, category_source = 'user',
                    category_note = 'chosen by the user', categorized_at = \(bind: now.millisecondsSince1970),
                    updated_at = \(bind: now.millisecondsSince1970)
                WHERE id = \(bind: id.rawValue) AND user_id = \(bind: userID.rawValue)
                RETURNING id
                """
            ).all()
            guard !updated.isEmpty else { throw StoreError(.notFound, "transaction \(id) does not exist for this user") }
            if let merchantKey { try await remember(userID: userID, merchantKey: merchantKey, category: category, now: now, on: db) }
        }
    }

    /// Marks every automatically categorized row of the tenant (or one user) to be decided
    /// again — after a rule changed. The user's own choices stay.
    /// - Returns: the users with rows to redo.
    public func resetAutomatic(tenantID: Identifier<Tenant>, userID: Identifier<User>? = nil) async throws -> [Identifier<User>] {
        try await database.transaction { db in
            var query = SQLQueryString(
                """
                UPDATE transactions SET categorized_at = NULL
                WHERE categorized_at IS NOT NULL AND (category_source IS NULL OR category_source <> 'user')
                  AND user_id IN (SELECT id FROM users WHERE tenant_id = \(bind: tenantID.rawValue))
                """)
            if let userID { query = query + " AND user_id = \(bind: userID.rawValue)" }
            query = query + " RETURNING user_id"
            let finished = query
            return Array(Set(try await db.raw(finished).all().map { Identifier<User>(try $0.text("user_id")) })).sorted { $0.rawValue < $1.rawValue }
        }
    }

    // MARK: Tenant models

    /// A tenant's trained model: the weights file's bytes, and when it was trained.
    public struct TenantModel: Sendable {
        public var weights: [UInt8]
        public var trainingRows: Int
        public var corrections: Int
        public var trainedAt: Date
    }

    /// Stores (replaces) the tenant's model. The bytes are kept as base64 text: one column type
    /// on both engines.
    public func saveModel(tenantID: Identifier<Tenant>, weights: [UInt8], trainingRows: Int, corrections: Int, at time: Date) async throws {
        try await database.withSession { db in
            try await db.raw(
                """
                INSERT INTO categorizer_models (tenant_id, weights, training_rows, corrections, trained_at)
                VALUES (\(bind: tenantID.rawValue), \(bind: Data(weights).base64EncodedString()), \(bind: trainingRows), \(bind: corrections),
                    \(bind: time.millisecondsSince1970))
                ON CONFLICT (tenant_id) DO UPDATE SET weights = excluded.weights, training_rows = excluded.training_rows,
                    corrections = excluded.corrections, trained_at = excluded.trained_at
                """
            ).run()
        }
    }

    /// When the tenant's model was trained, without loading it.
    public func modelTrainedAt(tenantID: Identifier<Tenant>) async throws -> Date? {
        try await database.withSession { db in
            try await db.raw("SELECT trained_at FROM categorizer_models WHERE tenant_id = \(bind: tenantID.rawValue)").first()?.instant("trained_at")
        }
    }

    public func model(tenantID: Identifier<Tenant>) async throws -> TenantModel? {
        try await database.withSession { db in
            guard let row = try await db.raw("SELECT * FROM categorizer_models WHERE tenant_id = \(bind: tenantID.rawValue)").first() else { return nil }
            guard let bytes = Data(base64Encoded: try row.text("weights")) else {
                throw StoreError(.invalidData, "the categorizer model stored for tenant \(tenantID) is not base64")
            }
            return TenantModel(
                weights: Array(bytes), trainingRows: try row.int("training_rows"), corrections: try row.int("corrections"),
                trainedAt: try row.instant("trained_at"))
        }
    }

    /// The tenant's users' own choices (live rows), newest first: the corrections a re-training learns from.
    public func corrections(tenantID: Identifier<Tenant>, limit: Int = 50_000) async throws -> [Transaction] {
        try await database.withSession { db in
            try await db.raw(
                """
                SELECT t.* FROM transactions t JOIN users u ON u.id = t.user_id
                WHERE u.tenant_id = \(bind: tenantID.rawValue) AND t.category_source = 'user' AND t.removed_at IS NULL
                ORDER BY t.categorized_at DESC, t.id LIMIT \(bind: limit)
                """
            ).all().map(TransactionRepository.decode)
        }
    }

    /// Tenants with a correction newer than their model (or with corrections and no model).
    public func tenantsToRetrain() async throws -> [Identifier<Tenant>] {
        try await database.withSession { db in
            try await db.raw(
                """
                SELECT DISTINCT u.tenant_id AS tenant_id FROM transactions t JOIN users u ON u.id = t.user_id
                LEFT JOIN categorizer_models m ON m.tenant_id = u.tenant_id
                WHERE t.category_source = 'user' AND (m.trained_at IS NULL OR t.categorized_at > m.trained_at)
                ORDER BY u.tenant_id
                """
            ).all().map { Identifier<Tenant>(try $0.text("tenant_id")) }
        }
    }
}
