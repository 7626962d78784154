public import BankSyncCategorizer
public import BankSyncCore
public import BankSyncJobs
public import BankSyncStore
import Foundation
import Logging
public import SQLKit

extension SyncEngine {
    /// The transaction syncs' hook: `categorize-transactions` for the connection's user, in the
    /// database transaction that stored the rows (rolled back with them).
    @Sendable func enqueueCategorization(_ db: any SQLDatabase, _ connection: Connection) async throws {
        guard configuration.categorizer != nil else { return }
        try await queue.enqueue(SyncJobs.categorizeTransactions, CategorizeJob(userID: connection.userID), in: db)
    }

    /// `categorize-transactions`: decides every row of the user not decided yet, in batches of
    /// ``Configuration/categorizeBatchSize``. Idempotent: only undecided rows are read, and a
    /// row the user categorized meanwhile is not overwritten.
    func categorizeTransactions(_ job: CategorizeJob, _ context: JobContext) async throws -> SyncJobResult {
        guard let decider = configuration.categorizer else { return SyncJobResult(outcome: "skipped", detail: "no categorizer configured") }
        guard let user = try await store.users.get(job.user) else { return SyncJobResult(outcome: "skipped", detail: "user deleted") }
        let rules: CategoryDecider.Rules
        do { rules = try CategoryDecider.Rules(try await store.categorization.rules(tenantID: user.tenantID, userID: user.id), taxonomy: decider.taxonomy) } catch let error as CategorizerError {
            // A rule that no longer compiles must not stop categorization forever: decide without rules and say so.
            context.logger.warning("a categorization rule is unusable; categorizing without rules", metadata: ["user_id": "\(user.id)", "error": "\(error)"])
            rules = try CategoryDecider.Rules([])
        }
        let memory = try await store.categorization.memory(userID: user.id)
        var bySource: [String: Int] = [:]
        var total = 0
        while true {
            let batch = try await store.categorization.uncategorized(userID: user.id, limit: configuration.categorizeBatchSize)
            if batch.isEmpty { break }
            let decisions = batch.map { transaction in
                let (category, note) = decider.decide(transaction, rules: rules, memory: memory)
                bySource[category?.source.rawValue ?? "none", default: 0] += 1
                return CategorizationRepository.Decision(transactionID: transaction.id, category: category, note: note)
            }
            try await store.categorization.apply(decisions, at: now)
            total += batch.count
            if batch.count < configuration.categorizeBatchSize { break }
        }
        let detail = bySource.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return SyncJobResult(outcome: "ok", modified: total, detail: detail.isEmpty ? "nothing to categorize" : detail)
    }

    /// `recategorize-transactions`: after a rule changed, every automatically decided row of the
    /// tenant (or user) is decided again; the users' own choices stay.
    func recategorizeTransactions(_ job: RecategorizeJob, _ context: JobContext) async throws -> SyncJobResult {
        let users = try await store.categorization.resetAutomatic(tenantID: Identifier(job.tenantID), userID: job.userID.map { Identifier($0) })
        for user in users { try await queue.enqueue(SyncJobs.categorizeTransactions, CategorizeJob(userID: user)) }
        return SyncJobResult(outcome: "ok", detail: "\(users.count) users to categorize again")
    }

    // MARK: Entry points (API, dashboard, tests)

    /// The user's own category for a transaction: it is never replaced by automation, and the
    /// user's next transactions from the same merchant get it too (merchant memory).
    /// - Throws: ``StoreError`` `.invalidData` for a category outside the taxonomy (naming it),
    ///   `.notFound` for a transaction that is not the user's.
    public func setCategory(_ transactionID: Identifier<Transaction>, userID: Identifier<User>, category: String) async throws {
        let taxonomy = configuration.categorizer?.taxonomy ?? .standard
        guard taxonomy.contains(category) else {
            throw StoreError(.invalidData, "\(category) is not a category: use a primary or detailed code of the taxonomy, e.g. FOOD_AND_DRINK_COFFEE")
        }
        guard let transaction = try await store.transactions.get(transactionID), transaction.userID == userID else {
            throw StoreError(.notFound, "transaction \(transactionID) does not exist for this user")
        }
        try await store.categorization.setUserCategory(
            transactionID, userID: userID, category: category, merchantKey: CategoryDecider.merchantKey(transaction), now: now)
    }

    /// Stores a rule (new or changed) after checking it, and re-decides past rows in the
    /// background (`recategorize-transactions`).
    /// - Throws: ``StoreError`` `.invalidData` naming what is wrong with the rule.
    @discardableResult
    public func saveRule(_ rule: CategoryRule) async throws -> EnqueuedJob {
        do { _ = try CategoryDecider.Rules([rule], taxonomy: configuration.categorizer?.taxonomy ?? .standard) } catch {
            throw StoreError(.invalidData, "\(error)")
        }
        guard !rule.conditions.isEmpty else { throw StoreError(.invalidData, "rule \"\(rule.name)\" has no conditions: it would match everything") }
        try await store.categorization.saveRule(rule)
        return try await queue.enqueue(SyncJobs.recategorizeTransactions, RecategorizeJob(tenantID: rule.tenantID, userID: rule.userID))
    }

    /// Deletes a rule and re-decides past rows in the background.
    @discardableResult
    public func deleteRule(_ id: Identifier<CategoryRule>, tenantID: Identifier<Tenant>) async throws -> EnqueuedJob {
        try await store.categorization.deleteRule(id, tenantID: tenantID)
        return try await queue.enqueue(SyncJobs.recategorizeTransactions, RecategorizeJob(tenantID: tenantID))
    }
}
