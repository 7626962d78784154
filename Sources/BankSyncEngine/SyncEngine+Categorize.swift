public import BankSyncCategorizer
public import BankSyncCore
public import BankSyncJobs
public import BankSyncStore
import Foundation
import Logging
import Synchronization
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
        guard let shipped = configuration.categorizer else { return SyncJobResult(outcome: "skipped", detail: "no categorizer configured") }
        guard let user = try await store.users.get(job.user) else { return SyncJobResult(outcome: "skipped", detail: "user deleted") }
        let decider = try await tenantDecider(user.tenantID, base: shipped, logger: context.logger)
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

    /// The tenant's re-trained model in place of the shipped one, when it has one; a stored
    /// model that no longer loads is logged and the shipped one used.
    func tenantDecider(_ tenantID: Identifier<Tenant>, base: CategoryDecider, logger: Logger) async throws -> CategoryDecider {
        guard let trainedAt = try await store.categorization.modelTrainedAt(tenantID: tenantID) else { return base }
        if let cached = tenantModels.get(tenantID, trainedAt: trainedAt) {
            return CategoryDecider(taxonomy: base.taxonomy, model: cached, threshold: base.threshold)
        }
        guard let stored = try await store.categorization.model(tenantID: tenantID) else { return base }
        do {
            let model = try WeightsFile.decode(stored.weights, path: "categorizer_models/\(tenantID)")
            tenantModels.put(tenantID, trainedAt: stored.trainedAt, model: model)
            return CategoryDecider(taxonomy: base.taxonomy, model: model, threshold: base.threshold)
        } catch {
            logger.error("the tenant's categorizer model cannot be loaded; using the shipped model", metadata: ["tenant_id": "\(tenantID)", "error": "\(error)"])
            return base
        }
    }

    /// `retrain-categorizer`: the shipped training rows plus the tenant's users' corrections
    /// (each counted ``Configuration/correctionWeight`` times), trained with the same seed and
    /// options as the shipped model, stored for the tenant; then the tenant's automatic rows
    /// are decided again with it.
    func retrainCategorizer(_ job: RetrainJob, _ context: JobContext) async throws -> SyncJobResult {
        let tenantID = Identifier<Tenant>(job.tenantID)
        let taxonomy = configuration.categorizer?.taxonomy ?? .standard
        var rows = try (configuration.retrainingBase ?? ShippedModel.trainingRows()).map { ($0.input, $0.label) }
        let base = rows.count
        let corrections = try await store.categorization.corrections(tenantID: tenantID).filter { taxonomy.contains($0.category?.category ?? "") }
        for correction in corrections {
            let input = CategorizerInput(description: correction.description, merchant: correction.merchantName, amountMinor: correction.amount.minorUnits)
            for _ in 0..<max(1, configuration.correctionWeight) { rows.append((input, correction.category!.category)) }
        }
        let started = now
        let model = try ModelTrainer.train(rows, options: ModelTrainer.Options(), now: started)
        try await store.categorization.saveModel(
            tenantID: tenantID, weights: try WeightsFile.encode(model), trainingRows: base, corrections: corrections.count, at: started)
        try await queue.enqueue(SyncJobs.recategorizeTransactions, RecategorizeJob(tenantID: tenantID))
        context.logger.info("categorizer re-trained for a tenant", metadata: ["tenant_id": "\(tenantID)", "corrections": "\(corrections.count)"])
        return SyncJobResult(outcome: "ok", detail: "\(base) shipped rows + \(corrections.count) corrections, \(model.labels.count) categories")
    }

    /// `schedule-retraining`: one `retrain-categorizer` per tenant with new corrections.
    func scheduleRetraining() async throws -> SyncJobResult {
        guard configuration.categorizer != nil else { return SyncJobResult(outcome: "skipped", detail: "no categorizer configured") }
        let tenants = try await store.categorization.tenantsToRetrain()
        for tenant in tenants { try await queue.enqueue(SyncJobs.retrainCategorizer, RetrainJob(tenantID: tenant)) }
        return SyncJobResult(outcome: "ok", detail: "\(tenants.count) tenants to re-train")
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
        // Checked as if enabled: a disabled rule that could not compile would fail the day it is switched on.
        var checked = rule
        checked.enabled = true
        do { _ = try CategoryDecider.Rules([checked], taxonomy: configuration.categorizer?.taxonomy ?? .standard) } catch {
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

/// Decoded tenant models by tenant, each with the training time it was decoded for.
final class TenantModelCache: Sendable {
    private let models = Mutex<[String: (Date, CategoryModel)]>([:])

    func get(_ tenant: Identifier<Tenant>, trainedAt: Date) -> CategoryModel? {
        models.withLock { $0[tenant.rawValue].flatMap { $0.0 == trainedAt ? $0.1 : nil } }
    }

    func put(_ tenant: Identifier<Tenant>, trainedAt: Date, model: CategoryModel) {
        models.withLock { $0[tenant.rawValue] = (trainedAt, model) }
    }
}
