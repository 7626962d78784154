public import BankSyncCategorizer
public import BankSyncCore
public import BankSyncJobs
public import BankSyncProviders
public import BankSyncStore
public import Foundation
public import Logging
import Metrics
import SQLKit

/// The guide's sync jobs, wired to the job queue: linking, setup, discovery, syncs, balances,
/// recovery, health, expiry, and the scheduler tick.
///
/// Every job that touches a connection runs under the connection's lock key and through one
/// error policy (``settleFailure(_:before:context:)``): rate limits snooze without using an
/// attempt, transient failures retry with backoff and, once exhausted, hand the connection to
/// `connection-recovery`; reauth, revocation and expired consent stop syncing and tell the
/// user once. A connection is never left in `syncing`: failure bookkeeping runs outside the
/// job's (possibly cancelled) task, and a rescued job resets what a killed worker left.
public struct SyncEngine: Sendable {
    /// Tuning; the defaults are the guide's.
    public struct Configuration: Sendable {
        /// History fetched by the first sync.
        public var initialSyncDays = 90
        /// History re-fetched by a sync the user asks for.
        public var manualSyncDays = 30
        /// Connections the tick enqueues at most per run.
        public var tickBatch = 1_000
        /// Delays before recovery attempts 1, 2 and 3 (15, 30, 60 minutes).
        public var recoveryDelays: [TimeInterval] = [900, 1_800, 3_600]
        /// Consent warnings: days before the end for the warning and the critical notice.
        public var expiryWarningDays = 14
        public var expiryCriticalDays = 3
        /// Calls a day a bank allows per account and scope, per provider (GoCardless: 4).
        public var dailyQuota: [Provider: Int] = [.gocardless: 4]
        /// When the tick and the expiry check run (5-field cron, UTC).
        public var tickCron = "* * * * *"
        public var expirationCron = "0 8 * * *"
        /// When tenants' categorizer models are re-trained from new corrections (daily, 03:00 UTC).
        public var retrainCron = "0 3 * * *"
        /// When old events and webhook deliveries are pruned (daily, 04:30 UTC).
        public var pruneNotificationsCron = "30 4 * * *"
        /// Events (the feed, tenant notices) older than this are deleted (180 days).
        public var eventRetention: TimeInterval = 180 * 86_400
        /// How much one user correction weighs against one row of the shipped training data.
        public var correctionWeight = 5
        /// The rows a tenant's re-training starts from; nil: the shipped training rows.
        public var retrainingBase: [LabeledRow]?
        /// Consent length assumed when a provider does not say (GoCardless agreements: 90 days).
        public var defaultConsentDays: [Provider: Int] = [.gocardless: 90]
        /// Categorizes new rows (`categorize-transactions`); nil leaves them uncategorized.
        public var categorizer: CategoryDecider?
        /// Rows per categorizer batch (the guide's 100).
        public var categorizeBatchSize = 100
        /// Outbound webhook delivery: transport, address policy, retries, disabling.
        public var webhooks = WebhookSettings()

        public init() {}
    }

    public let store: Store
    public let queue: JobQueue
    let providers: [Provider: any BankingProvider]
    public let configuration: Configuration
    let logger: Logger
    /// Tenants' re-trained categorizer models, decoded once per training.
    let tenantModels = TenantModelCache()

    public init(store: Store, queue: JobQueue, providers: [any BankingProvider], configuration: Configuration = Configuration(), logger: Logger) {
        self.store = store
        self.queue = queue
        self.providers = Dictionary(providers.map { ($0.provider, $0) }, uniquingKeysWith: { _, last in last })
        self.configuration = configuration
        self.logger = logger
    }

    var now: Date { queue.now() }

    /// The engine's clock as the provider's calendar day (UTC).
    var today: CalendarDate { CalendarDate(now) }

    // MARK: Registration

    /// Registers every job handler of the engine.
    public func register(into registry: inout JobRegistry) {
        registry.register(SyncJobs.connectionSetup) { job, context in try await connectionSetup(job, context) }
        registry.register(SyncJobs.accountDiscovery) { job, context in try await accountDiscovery(job, context) }
        registry.register(SyncJobs.initialSync) { job, context in try await initialSync(job, context) }
        registry.register(SyncJobs.syncBank) { job, context in try await syncBank(job, context) }
        registry.register(SyncJobs.updateBalances) { job, context in try await updateBalances(job, context) }
        registry.register(SyncJobs.syncTransactions) { job, context in try await syncTransactions(job, context) }
        registry.register(SyncJobs.accountManagement) { job, context in try await accountManagement(job, context) }
        registry.register(SyncJobs.refreshConnection) { job, context in try await refreshConnection(job, context) }
        registry.register(SyncJobs.createLinkToken) { job, context in try await createLinkToken(job, context) }
        registry.register(SyncJobs.connectionRecovery) { job, context in try await connectionRecovery(job, context) }
        registry.register(SyncJobs.connectionHealth) { job, context in try await connectionHealth(job, context) }
        registry.register(SyncJobs.checkConnectionExpiration) { _, context in try await checkConnectionExpiration(context) }
        registry.register(SyncJobs.scheduleSyncs) { _, context in try await scheduleSyncs(context) }
        registry.register(SyncJobs.categorizeTransactions) { job, context in try await categorizeTransactions(job, context) }
        registry.register(SyncJobs.recategorizeTransactions) { job, context in try await recategorizeTransactions(job, context) }
        registry.register(SyncJobs.retrainCategorizer) { job, context in try await retrainCategorizer(job, context) }
        registry.register(SyncJobs.scheduleRetraining) { _, _ in try await scheduleRetraining() }
        registry.register(NotificationJobs.deliverWebhook) { job, context in try await deliverWebhook(job, context) }
        registry.register(NotificationJobs.pruneNotifications) { _, _ in try await pruneNotifications() }
    }

    /// The recurring jobs: the scheduler tick (every minute) and the daily expiry check.
    public func schedules() throws -> [RecurringJob] {
        try Self.schedules(configuration)
    }

    /// The recurring jobs for `configuration`, without an engine (for `banksync schedules`).
    public static func schedules(_ configuration: Configuration) throws -> [RecurringJob] {
        [
            try RecurringJob(name: SyncJobs.scheduleSyncs.name, cron: configuration.tickCron, job: SyncJobs.scheduleSyncs, payload: EmptyResult()),
            try RecurringJob(
                name: SyncJobs.checkConnectionExpiration.name, cron: configuration.expirationCron, job: SyncJobs.checkConnectionExpiration,
                payload: EmptyResult()),
            try RecurringJob(name: SyncJobs.scheduleRetraining.name, cron: configuration.retrainCron, job: SyncJobs.scheduleRetraining, payload: EmptyResult()),
            try RecurringJob(
                name: NotificationJobs.pruneNotifications.name, cron: configuration.pruneNotificationsCron, job: NotificationJobs.pruneNotifications,
                payload: EmptyResult()),
        ]
    }

    // MARK: Entry points (API, demo, tests)

    /// Completes a link the user finished at the provider, stores the connection (or re-links
    /// the existing one: update mode) and enqueues `connection-setup` in the same transaction.
    /// - Parameter replacing: the connection an update/reconnect-mode link was started for.
    ///   Needed where reconnecting issues a new credential (GoCardless: a new requisition, with
    ///   new account ids that discovery maps onto the known accounts); without it such a link
    ///   would become a second connection. Plaid update mode and Teller reconnect keep their
    ///   ids and are recognised without it.
    /// - Throws: ``StoreError`` `.notFound` when `replacing` is not this user's connection at
    ///   this provider, `.conflict` when it is disconnected; ``ProviderError`` from the provider.
    public func link(
        userID: Identifier<User>, provider: Provider, completion: LinkCompletion, institutionID: String? = nil, institutionName: String? = nil,
        replacing: Identifier<Connection>? = nil
    ) async throws -> (Connection, EnqueuedJob) {
        var target: Connection?
        if let replacing {
            guard let existing = try await store.connections.get(replacing), existing.userID == userID, existing.provider == provider else {
                throw StoreError(.notFound, "connection \(replacing) is not a \(provider.rawValue) connection of this user")
            }
            guard existing.status != .disconnected else { throw StoreError(.conflict, "connection \(replacing) is disconnected: link it anew") }
            target = existing
        }
        let client = try self.provider(provider)
        let credential = try await client.completeLink(completion)
        let now = self.now
        let found = try await store.connections.find(provider: provider, providerConnectionID: credential.externalID)
        if let found, let target, found.id != target.id {
            throw ProviderError(.permanent, provider: provider, code: "link_owned_elsewhere", message: "this link already belongs to connection \(found.id)")
        }
        if var existing = target ?? found {
            guard existing.userID == userID else {
                throw ProviderError(.permanent, provider: provider, code: "link_owned_elsewhere", message: "this link belongs to another user")
            }
            let previous = existing.providerConnectionID != credential.externalID ? try await self.credential(existing) : nil
            if previous != nil {
                // A new credential for the same bank login: a new consent period starts.
                existing.providerConnectionID = credential.externalID
                existing.consentGrantedAt = now
                existing.consentExpiresAt = configuration.defaultConsentDays[provider].map { now.addingTimeInterval(Double($0) * 86_400) }
            }
            try await store.connections.setAccessToken(credential.secret, for: existing.id)
            if existing.status != .connected && existing.status != .syncing { try existing.setStatus(.connected) }
            existing.errorCode = nil
            existing.errorCount = 0
            existing.recoveryAttempts = 0
            // Due now: the tick syncs it after setup and discovery (its lock key keeps the order).
            existing.nextSyncAt = now
            existing.updatedAt = now
            let job = try await store.database.transaction { [existing] db in
                try await store.connections.update(existing, on: db)
                return try await queue.enqueue(SyncJobs.connectionSetup, ConnectionJob(connectionID: existing.id, reason: "relink"), in: db)
            }
            logger.info("connection re-linked", metadata: ["connection_id": "\(existing.id)", "provider": "\(provider.rawValue)"])
            if let previous {
                // The old credential is spent; ending it at the provider is a courtesy.
                do { try await client.remove(previous) } catch {
                    logger.info("the replaced credential could not be removed at the provider", metadata: ["connection_id": "\(existing.id)", "error": "\(error)"])
                }
            }
            return (existing, job)
        }
        let connection = Connection(
            userID: userID, provider: provider, providerConnectionID: credential.externalID, institutionID: institutionID,
            institutionName: institutionName, consentGrantedAt: now,
            consentExpiresAt: configuration.defaultConsentDays[provider].map { now.addingTimeInterval(Double($0) * 86_400) }, createdAt: now)
        let job = try await store.database.transaction { db in
            try await store.connections.insert(connection, accessToken: credential.secret, on: db)
            return try await queue.enqueue(SyncJobs.connectionSetup, ConnectionJob(connectionID: connection.id, reason: "link"), in: db)
        }
        logger.info("connection linked", metadata: ["connection_id": "\(connection.id)", "provider": "\(provider.rawValue)"])
        return (connection, job)
    }

    /// The user finished an update-mode link that keeps the credential (Plaid update mode,
    /// Teller reconnect with the same token): the connection is healthy again and syncs now.
    /// - Throws: ``StoreError`` `.notFound`; `.conflict` for a disconnected connection.
    @discardableResult
    public func relinked(_ id: Identifier<Connection>) async throws -> EnqueuedJob {
        guard var connection = try await store.connections.get(id) else { throw StoreError(.notFound, "connection \(id) does not exist") }
        guard connection.status != .disconnected else { throw StoreError(.conflict, "connection \(id) is disconnected: link it anew") }
        if connection.status != .connected && connection.status != .syncing { try connection.setStatus(.connected) }
        connection.errorCode = nil
        connection.errorCount = 0
        connection.recoveryAttempts = 0
        connection.updatedAt = now
        return try await store.database.transaction { [connection] db in
            try await store.connections.update(connection, on: db)
            return try await queue.enqueue(SyncJobs.syncBank, ConnectionJob(connectionID: id, reason: "relinked"), in: db)
        }
    }

    /// A sync the user asked for: `sync-bank` re-fetching ``Configuration/manualSyncDays``.
    /// A sync already waiting for the connection is returned instead of a second one.
    /// - Throws: ``StoreError`` `.notFound`, or `.conflict` when the connection cannot sync now
    ///   (it needs the user to re-link first).
    public func requestSync(_ id: Identifier<Connection>, days: Int? = nil) async throws -> EnqueuedJob {
        guard let connection = try await store.connections.get(id) else { throw StoreError(.notFound, "connection \(id) does not exist") }
        guard connection.status.isSyncable || connection.status == .syncing else {
            throw StoreError(.conflict, "connection \(id) is \(connection.status.rawValue): it must be re-linked before it can sync")
        }
        return try await queue.enqueue(SyncJobs.syncBank, ConnectionJob(connectionID: id, days: days ?? configuration.manualSyncDays, reason: "manual"))
    }

    /// Ends a connection: removed at the provider (best effort: a provider that already forgot
    /// it is fine), then `disconnected` here with nothing scheduled. Its data stays until the
    /// user is deleted.
    public func disconnect(_ id: Identifier<Connection>) async throws {
        guard var connection = try await store.connections.get(id) else { throw StoreError(.notFound, "connection \(id) does not exist") }
        if connection.status == .disconnected { return }
        let client = try provider(connection.provider)
        do {
            try await client.remove(try await credential(connection))
        } catch let error as ProviderError where error.kind == .invalidToken || error.kind == .notFound {
            logger.info("provider had already ended the connection", metadata: ["connection_id": "\(id)"])
        }
        try connection.setStatus(.disconnected)
        connection.nextSyncAt = nil
        connection.nextBalanceSyncAt = nil
        connection.updatedAt = now
        try await store.connections.update(connection)
    }

    // MARK: Jobs

    func connectionSetup(_ job: ConnectionJob, _ context: JobContext) async throws -> SyncJobResult {
        try await guarded(job.connection, context, requireSyncable: false) { connection, credential, client in
            var connection = connection
            switch try await client.health(credential) {
            case .healthy: break
            case .expiresAt(let end?): connection.consentExpiresAt = end
            case .expiresAt(nil): throw ProviderError(.consentExpired, provider: connection.provider, message: "the consent has already ended")
            case .reauthRequired(let reason): throw ProviderError(.reauthRequired, provider: connection.provider, code: reason, message: "the provider needs the user")
            case .revoked: throw ProviderError(.invalidToken, provider: connection.provider, message: "the provider revoked the connection")
            }
            connection.updatedAt = now
            try await store.database.transaction { [connection] db in
                try await store.connections.update(connection, on: db)
                try await queue.enqueue(SyncJobs.accountDiscovery, ConnectionJob(connectionID: connection.id, days: job.days, reason: job.reason), in: db)
            }
            return SyncJobResult(outcome: "ok")
        }
    }

    func accountDiscovery(_ job: ConnectionJob, _ context: JobContext) async throws -> SyncJobResult {
        try await guarded(job.connection, context, requireSyncable: false) { connection, credential, client in
            let listed = try await client.accounts(credential)
            let now = self.now
            var known = Dictionary(try await store.accounts.list(connectionID: connection.id).map { ($0.providerAccountID, $0) }, uniquingKeysWith: { a, _ in a })
            // Accounts that came back under new ids (a GoCardless reconnect) keep their history.
            let reidentified = AccountMatcher.reidentify(known: Array(known.values), listed: listed)
            for (account, newID) in reidentified {
                try await store.accounts.reidentify(account.id, providerAccountID: newID, now: now)
                logger.info("account re-identified by the provider", metadata: ["connection_id": "\(connection.id)", "account_id": "\(account.id)"])
            }
            if !reidentified.isEmpty {
                known = Dictionary(try await store.accounts.list(connectionID: connection.id).map { ($0.providerAccountID, $0) }, uniquingKeysWith: { a, _ in a })
            }
            let accounts = listed.map { account in
                Account(
                    id: known[account.providerAccountID]?.id ?? .generate(), connectionID: connection.id, userID: connection.userID,
                    providerAccountID: account.providerAccountID, name: account.name, officialName: account.officialName, mask: account.mask,
                    type: account.type, subtype: account.subtype, status: account.isOpen ? .active : .closed, currency: account.currency,
                    createdAt: known[account.providerAccountID]?.createdAt ?? now, updatedAt: now)
            }
            // The accounts and the jobs they cause (accounts.added, the first sync) commit together:
            // a crash between them would leave new accounts nobody is told about.
            let added = try await store.database.transaction { [known] db in
                let ids = try await store.accounts.upsert(accounts, on: db)
                let added = listed.filter { known[$0.providerAccountID] == nil }.compactMap { ids[$0.providerAccountID] }
                if !added.isEmpty {
                    try await queue.enqueue(SyncJobs.accountManagement, AccountsJob(connectionID: connection.id, accountIDs: added), in: db)
                }
                if connection.lastSyncedAt == nil {
                    try await queue.enqueue(
                        SyncJobs.initialSync, ConnectionJob(connectionID: connection.id, days: job.days ?? configuration.initialSyncDays, reason: "initial"), in: db)
                }
                return added
            }
            return SyncJobResult(outcome: "ok", accounts: listed.count, added: added.count)
        }
    }

    func initialSync(_ job: ConnectionJob, _ context: JobContext) async throws -> SyncJobResult {
        try await guarded(job.connection, context, requireSyncable: true, reschedules: .transactions) { connection, credential, client in
            let days = min(job.days ?? configuration.initialSyncDays, client.historyLimitDays)
            let balances = try await readBalances(connection, credential: credential, client: client)
            let run = try await transactionsOnce(connection, client: client, days: days)
            return SyncJobResult(outcome: "ok", accounts: balances, added: run.added, modified: run.modified, removed: run.removed)
        }
    }

    func syncBank(_ job: ConnectionJob, _ context: JobContext) async throws -> SyncJobResult {
        try await guarded(job.connection, context, requireSyncable: true, reschedules: .balances) { connection, credential, client in
            let balances = try await readBalances(connection, credential: credential, client: client)
            try await queue.enqueue(SyncJobs.syncTransactions, ConnectionJob(connectionID: connection.id, days: job.days, reason: job.reason))
            return SyncJobResult(outcome: "ok", accounts: balances)
        }
    }

    func updateBalances(_ job: ConnectionJob, _ context: JobContext) async throws -> SyncJobResult {
        try await guarded(job.connection, context, requireSyncable: true, reschedules: .balances) { connection, credential, client in
            SyncJobResult(outcome: "ok", accounts: try await readBalances(connection, credential: credential, client: client))
        }
    }

    func syncTransactions(_ job: ConnectionJob, _ context: JobContext) async throws -> SyncJobResult {
        try await guarded(job.connection, context, requireSyncable: true, reschedules: .transactions) { connection, _, client in
            let run = try await transactionsOnce(connection, client: client, days: job.days)
            return SyncJobResult(outcome: "ok", added: run.added, modified: run.modified, removed: run.removed)
        }
    }

    func accountManagement(_ job: AccountsJob, _ context: JobContext) async throws -> SyncJobResult {
        let connectionID = Identifier<Connection>(job.connectionID)
        guard let connection = try await store.connections.get(connectionID) else { return SyncJobResult(outcome: "skipped", detail: "connection deleted") }
        var described: [JSONValue] = []
        for id in job.accountIDs {
            guard let account = try await store.accounts.get(Identifier(id)) else { continue }
            described.append(.object([
                ("id", .string(account.id.rawValue)), ("name", .string(account.name)), ("mask", .optional(account.mask)),
                ("type", .string(account.type.rawValue)), ("currency", .string(account.currency.code)),
            ]))
        }
        guard !described.isEmpty else { return SyncJobResult(outcome: "skipped", detail: "accounts deleted") }
        let emitted = try await notify(Event(
            userID: connection.userID, connectionID: connection.id, type: "accounts.added",
            payload: .object([("version", .int(1)), ("connection_id", .string(connection.id.rawValue)), ("accounts", .array(described))]),
            dedupeKey: "accounts.added:\(connection.id):" + job.accountIDs.sorted().joined(separator: ","), createdAt: now))
        return SyncJobResult(outcome: emitted ? "notified" : "already notified", accounts: described.count)
    }

    func refreshConnection(_ job: ConnectionJob, _ context: JobContext) async throws -> SyncJobResult {
        do {
            return try await guarded(job.connection, context, requireSyncable: true) { connection, credential, client in
                if try await client.refresh(credential) {
                    // The provider pulls from the bank and then says so by webhook; a sync after
                    // a quiet spell catches up if the webhook never comes.
                    return SyncJobResult(outcome: "refresh requested")
                }
                try await queue.enqueue(SyncJobs.syncBank, ConnectionJob(connectionID: connection.id, reason: job.reason ?? "refresh"))
                return SyncJobResult(outcome: "sync enqueued")
            }
        } catch let control as JobControl {
            if case .discard(let reason) = control, let connection = try await store.connections.get(job.connection) {
                try await notify(Event(
                    userID: connection.userID, connectionID: connection.id, type: "connection.refresh_failed",
                    payload: .object([("version", .int(1)), ("connection_id", .string(connection.id.rawValue)), ("reason", .string(reason))]),
                    dedupeKey: "connection.refresh_failed:\(connection.id):\(today)", createdAt: now))
            }
            throw control
        }
    }

    func createLinkToken(_ job: LinkTokenJob, _ context: JobContext) async throws -> LinkTokenResult {
        guard let user = try await store.users.get(Identifier(job.userID)) else { throw JobControl.discard(reason: "user \(job.userID) does not exist") }
        let client = try provider(job.provider)
        var request = LinkRequest(userID: user.externalID, institutionID: job.institutionID, redirectURL: job.redirectURL, historyDays: configuration.initialSyncDays)
        if let id = job.connectionID {
            guard let connection = try await store.connections.get(Identifier(id)), connection.userID == user.id, connection.provider == job.provider else {
                throw JobControl.discard(reason: "connection \(id) is not a \(job.provider.rawValue) connection of this user")
            }
            request.existing = try await credential(connection)
            request.institutionID = request.institutionID ?? connection.institutionID
        }
        do {
            let session = try await client.createLink(request)
            return LinkTokenResult(provider: job.provider, token: session.token, url: session.url, expiresAt: session.expiresAt, mode: request.existing == nil ? "new" : "update")
        } catch let error as ProviderError where !error.isRetryable {
            throw JobControl.discard(reason: error.description)
        }
    }

    func connectionRecovery(_ job: RecoveryJob, _ context: JobContext) async throws -> SyncJobResult {
        let id = Identifier<Connection>(job.connectionID)
        guard var connection = try await store.connections.get(id) else { return SyncJobResult(outcome: "skipped", detail: "connection deleted") }
        guard connection.status == .error else { return SyncJobResult(outcome: "not needed", detail: "connection is \(connection.status.rawValue)") }
        let client = try provider(connection.provider)
        var metadata: Logger.Metadata = ["connection_id": "\(id)", "attempt": "\(job.attempt)"]
        let health: ProviderConnectionHealth
        do {
            health = try await client.health(try await credential(connection))
        } catch {
            metadata["error"] = "\(error)"
            connection.recoveryAttempts = job.attempt
            connection.updatedAt = now
            if job.attempt < configuration.recoveryDelays.count {
                let at = now.addingTimeInterval(configuration.recoveryDelays[job.attempt])
                try await store.database.transaction { [connection] db in
                    try await store.connections.update(connection, on: db)
                    try await queue.enqueue(SyncJobs.connectionRecovery, RecoveryJob(connectionID: id, attempt: job.attempt + 1), at: at, in: db)
                }
                logger.warning("connection recovery failed; trying again", metadata: metadata.merging(["next_at": "\(at)"]) { a, _ in a })
                return SyncJobResult(outcome: "retry scheduled", detail: "attempt \(job.attempt + 1) at \(at)")
            }
            try await store.database.transaction { [connection] db in
                try await store.connections.update(connection, on: db)
                try await notify(Event(
                    userID: connection.userID, connectionID: id, type: "connection.failed",
                    payload: .object([
                        ("version", .int(1)), ("connection_id", .string(id.rawValue)), ("attempts", .int(job.attempt)),
                        ("error", .string((error as? ProviderError)?.code ?? "unreachable")),
                    ]),
                    dedupeKey: "connection.failed:\(id):\(episode(connection))", createdAt: now), on: db)
            }
            logger.error("connection recovery exhausted; the user is told", metadata: metadata)
            return SyncJobResult(outcome: "failed", detail: "recovery exhausted after \(job.attempt) attempts")
        }
        switch health {
        case .healthy, .expiresAt(.some):
            if case .expiresAt(let end?) = health { connection.consentExpiresAt = end }
            try connection.setStatus(.connected)
            connection.errorCode = nil
            connection.errorCount = 0
            connection.recoveryAttempts = 0
            connection.nextSyncAt = now
            connection.updatedAt = now
            try await store.database.transaction { [connection] db in
                try await store.connections.update(connection, on: db)
                try await notify(Event(
                    userID: connection.userID, connectionID: id, type: "connection.recovered",
                    payload: .object([("version", .int(1)), ("connection_id", .string(id.rawValue)), ("attempt", .int(job.attempt))]),
                    dedupeKey: "connection.recovered:\(id):\(episode(connection))", createdAt: now), on: db)
                try await queue.enqueue(SyncJobs.syncBank, ConnectionJob(connectionID: id, reason: "recovered"), in: db)
            }
            logger.info("connection recovered", metadata: metadata)
            return SyncJobResult(outcome: "recovered")
        case .expiresAt(nil), .reauthRequired, .revoked:
            return try await needsUser(id, health: health)
        }
    }

    func connectionHealth(_ job: ConnectionJob, _ context: JobContext) async throws -> SyncJobResult {
        guard var connection = try await store.connections.get(job.connection) else { return SyncJobResult(outcome: "skipped", detail: "connection deleted") }
        let client = try provider(connection.provider)
        let health = try await client.health(try await credential(connection))
        switch health {
        case .healthy, .expiresAt(.some):
            if case .expiresAt(let end?) = health { connection.consentExpiresAt = end }
            connection.updatedAt = now
            try await store.connections.update(connection)
            return SyncJobResult(outcome: "healthy")
        case .expiresAt(nil), .reauthRequired, .revoked:
            return try await needsUser(connection.id, health: health)
        }
    }

    /// Records a health answer only the user can act on (ended consent, login required,
    /// revoked) and says so as the job's result.
    func needsUser(_ id: Identifier<Connection>, health: ProviderConnectionHealth) async throws -> SyncJobResult {
        let (status, code): (ConnectionStatus, String)
        switch health {
        case .reauthRequired(let reason): (status, code) = (.requiresReauth, reason)
        case .revoked: (status, code) = (.revoked, "revoked")
        case .expiresAt(nil): (status, code) = (.expired, "consent_expired")
        case .healthy, .expiresAt(.some): return SyncJobResult(outcome: "healthy")
        }
        try await needsUser(id, status: status, code: code)
        return SyncJobResult(outcome: "needs user", detail: code)
    }

    /// `check-connection-expiration`: one `connection.expiring` warning 14 days before a consent
    /// ends and one critical notice at 3 days, however often it runs (dedupe keys carry the
    /// threshold and the end date, so a renewed consent is warned about again). Consents that
    /// have ended move their connection to `expired`.
    func checkConnectionExpiration(_ context: JobContext) async throws -> SyncJobResult {
        let now = self.now
        var warned = 0
        let horizon = now.addingTimeInterval(Double(configuration.expiryWarningDays) * 86_400)
        for connection in try await store.connections.consentsEnding(after: now, before: horizon) {
            guard let end = connection.consentExpiresAt else { continue }
            let daysLeft = end.timeIntervalSince(now) / 86_400
            let threshold = daysLeft <= Double(configuration.expiryCriticalDays) ? configuration.expiryCriticalDays : configuration.expiryWarningDays
            let emitted = try await notify(Event(
                userID: connection.userID, connectionID: connection.id, type: "connection.expiring",
                payload: .object([
                    ("version", .int(1)), ("connection_id", .string(connection.id.rawValue)),
                    ("severity", .string(threshold == configuration.expiryCriticalDays ? "critical" : "warning")),
                    ("expires_at", .string(ISO8601DateFormatter().string(from: end))), ("days_left", .int(Int(daysLeft.rounded(.up)))),
                ]),
                dedupeKey: "connection.expiring:\(connection.id):\(threshold):\(end.millisecondsSince1970)", createdAt: now))
            if emitted { warned += 1 }
        }
        var expired = 0
        for connection in try await store.connections.consentsEnding(after: Date(timeIntervalSince1970: 0), before: now)
        where connection.status != .expired && connection.status != .disconnected && connection.status != .revoked {
            try await needsUser(connection.id, status: .expired, code: "consent_expired")
            expired += 1
        }
        return SyncJobResult(outcome: "ok", detail: "\(warned) warned, \(expired) expired")
    }

    /// `schedule-syncs`: one tick for every connection. Picks due connections by the indexed
    /// `next_sync_at` (and `next_balance_sync_at` for balance-only refreshes), moves their next
    /// times forward by their plan and enqueues their jobs, all in one transaction.
    func scheduleSyncs(_ context: JobContext) async throws -> SyncJobResult {
        let now = self.now
        let due = try await store.connections.due(at: now, limit: configuration.tickBatch)
        var syncs = 0
        for connection in due {
            let plan = try await plan(for: connection)
            try await store.database.transaction { db in
                try await store.connections.postpone(
                    [connection.id], nextSyncAt: now.addingTimeInterval(plan.transactionInterval),
                    nextBalanceSyncAt: now.addingTimeInterval(plan.balanceInterval), on: db)
                try await queue.enqueue(SyncJobs.syncBank, ConnectionJob(connectionID: connection.id, reason: "schedule"), in: db)
            }
            syncs += 1
        }
        let syncing = Set(due.map(\.id))
        var balances = 0
        for connection in try await store.connections.balancesDue(at: now, limit: configuration.tickBatch) where !syncing.contains(connection.id) {
            let plan = try await plan(for: connection)
            try await store.database.transaction { db in
                try await store.connections.postpone([connection.id], nextSyncAt: nil, nextBalanceSyncAt: now.addingTimeInterval(plan.balanceInterval), on: db)
                try await queue.enqueue(SyncJobs.updateBalances, ConnectionJob(connectionID: connection.id, reason: "schedule"), in: db)
            }
            balances += 1
        }
        if syncs + balances > 0 { logger.info("scheduler tick", metadata: ["syncs": "\(syncs)", "balances": "\(balances)"]) }
        return SyncJobResult(outcome: "ok", detail: "\(syncs) syncs, \(balances) balance refreshes")
    }

    // MARK: Pieces

    /// The connection's current plan (provider defaults, activity, recent changes, quota).
    public func plan(for connection: Connection) async throws -> SyncPlan {
        let user = try await store.users.get(connection.userID)
        let runs = try await store.syncRuns.list(connectionID: connection.id, limit: 5).filter { $0.state == .completed }
        return SyncPlan.make(
            SyncPlan.Inputs(
                provider: connection.provider, dailyQuota: configuration.dailyQuota[connection.provider], userLastActiveAt: user?.lastActiveAt,
                recentChanges: runs.map { $0.added + $0.modified + $0.removed }),
            now: now)
    }

    func provider(_ provider: Provider) throws -> any BankingProvider {
        guard let client = providers[provider] else {
            throw JobControl.discard(reason: "no \(provider.rawValue) client is configured in this process")
        }
        return client
    }

    func credential(_ connection: Connection) async throws -> ConnectionCredential {
        ConnectionCredential(secret: try await store.connections.accessToken(for: connection.id), externalID: connection.providerConnectionID)
    }

    /// Reads and records balances; returns how many accounts got one.
    func readBalances(_ connection: Connection, credential: ConnectionCredential, client: any BankingProvider) async throws -> Int {
        var sync = BalanceSync(store: store, logger: logger) { credential, accounts in try await client.balances(credential, accounts: accounts) }
        sync.inTransaction = afterBalanceRecorded
        let recorded = try await sync.run(connectionID: connection.id, now: now)
        Counter(label: "banksync_balance_updates_total", dimensions: [("provider", connection.provider.rawValue)]).increment(by: recorded)
        return recorded
    }

    /// One transaction sync by the provider's mode.
    func transactionsOnce(_ connection: Connection, client: any BankingProvider, days: Int?) async throws -> SyncRun {
        let started = ContinuousClock.now
        defer {
            Timer(label: "banksync_sync_duration_seconds", dimensions: [("provider", connection.provider.rawValue)])
                .recordNanoseconds((ContinuousClock.now - started).components.attoseconds / 1_000_000_000 + (ContinuousClock.now - started).components.seconds * 1_000_000_000)
        }
        let run: SyncRun
        switch client.fetchMode {
        case .cursor:
            var sync = CursorTransactionSync(store: store, provider: client, logger: logger)
            sync.inTransaction = afterTransactionsStored
            run = try await sync.run(connectionID: connection.id, now: now)
        case .window:
            var sync = WindowTransactionSync(store: store, logger: logger) { credential, account, from, to in
                try await client.transactions(credential, account: account, from: from, to: to)
            }
            sync.inTransaction = afterTransactionsStored
            sync.initialDays = min(days ?? configuration.initialSyncDays, client.historyLimitDays)
            run = try await sync.run(connectionID: connection.id, today: today, days: connection.cursor == nil ? nil : days, now: now)
        }
        try await LedgerCheck(store: store, logger: logger).run(connectionID: connection.id, now: now)
        return run
    }

    /// The start of the connection's current trouble: events about one episode share it.
    func episode(_ connection: Connection) -> Int64 {
        (connection.lastSyncedAt ?? connection.createdAt).millisecondsSince1970
    }
}
