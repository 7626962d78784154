public import BankSyncCore
public import BankSyncJobs
public import Foundation

/// The payload of every job that acts on one connection: ids only, never a token.
public struct ConnectionJob: Codable, Sendable, Equatable {
    public var connectionID: String
    /// Days of history to (re)fetch: initial sync (90 by default), manual sync (30).
    public var days: Int?
    /// What asked for it (`schedule`, `manual`, `webhook:SYNC_UPDATES_AVAILABLE`…), for logs.
    public var reason: String?

    public init(connectionID: Identifier<Connection>, days: Int? = nil, reason: String? = nil) {
        self.connectionID = connectionID.rawValue
        self.days = days
        self.reason = reason
    }

    public var connection: Identifier<Connection> { Identifier(connectionID) }
}

/// `connection-recovery`: which attempt this is (1…3).
public struct RecoveryJob: Codable, Sendable, Equatable {
    public var connectionID: String
    public var attempt: Int

    public init(connectionID: Identifier<Connection>, attempt: Int) {
        self.connectionID = connectionID.rawValue
        self.attempt = attempt
    }
}

/// `account-management`: accounts discovery found for the first time.
public struct AccountsJob: Codable, Sendable, Equatable {
    public var connectionID: String
    public var accountIDs: [String]

    public init(connectionID: Identifier<Connection>, accountIDs: [Identifier<Account>]) {
        self.connectionID = connectionID.rawValue
        self.accountIDs = accountIDs.map(\.rawValue)
    }
}

/// `create-link-token`: a link for a user, new or (with `connectionID`) update/reconnect mode.
public struct LinkTokenJob: Codable, Sendable, Equatable {
    public var userID: String
    public var provider: Provider
    public var connectionID: String?
    public var institutionID: String?
    public var redirectURL: String?

    public init(userID: Identifier<User>, provider: Provider, connectionID: Identifier<Connection>? = nil, institutionID: String? = nil, redirectURL: String? = nil) {
        self.userID = userID.rawValue
        self.provider = provider
        self.connectionID = connectionID?.rawValue
        self.institutionID = institutionID
        self.redirectURL = redirectURL
    }
}

/// `categorize-transactions`: one user's rows not yet decided.
public struct CategorizeJob: Codable, Sendable, Equatable {
    public var userID: String

    public init(userID: Identifier<User>) { self.userID = userID.rawValue }

    public var user: Identifier<User> { Identifier(userID) }
}

/// `recategorize-transactions`: a rule changed; decide again every automatically categorized
/// row of the tenant (or of one user).
public struct RecategorizeJob: Codable, Sendable, Equatable {
    public var tenantID: String
    public var userID: String?

    public init(tenantID: Identifier<Tenant>, userID: Identifier<User>? = nil) {
        self.tenantID = tenantID.rawValue
        self.userID = userID?.rawValue
    }
}

/// `retrain-categorizer`: one tenant's model, re-trained with its users' corrections.
public struct RetrainJob: Codable, Sendable, Equatable {
    public var tenantID: String

    public init(tenantID: Identifier<Tenant>) { self.tenantID = tenantID.rawValue }
}

/// The result of `create-link-token`, as the app's front end needs it.
public struct LinkTokenResult: Codable, Sendable, Equatable {
    public var provider: Provider
    public var token: String
    public var url: String?
    public var expiresAt: Date?
    public var mode: String
}

/// What a sync job reports as its result (the job status API shows it).
public struct SyncJobResult: Codable, Sendable, Equatable {
    public var outcome: String
    public var accounts: Int?
    public var added: Int?
    public var modified: Int?
    public var removed: Int?
    public var detail: String?

    public init(outcome: String, accounts: Int? = nil, added: Int? = nil, modified: Int? = nil, removed: Int? = nil, detail: String? = nil) {
        self.outcome = outcome
        self.accounts = accounts
        self.added = added
        self.modified = modified
        self.removed = removed
        self.detail = detail
    }
}

/// The sync engine's jobs, with the guide's names. Every job on a connection holds the
/// connection's lock key, so at most one of them runs per connection at a time.
public enum SyncJobs {
    static func connectionLock(_ id: String) -> String { "connection:\(id)" }

    /// Options of the jobs that call a provider: the guide's sync-bank (priority, 60 s, 5
    /// attempts, exponential from 10 s).
    static let providerCall = JobOptions(priority: -10, maxAttempts: 5, backoff: .exponential(base: .seconds(10), cap: .seconds(600)), timeout: .seconds(120))
    /// ``providerCall`` for syncs that collapse only while waiting: a webhook or manual request
    /// that comes while one runs (which may have read the bank already) makes one more run.
    static let providerCallWhileWaiting = {
        var options = providerCall
        options.uniqueWhileRunning = false
        return options
    }()

    public static let connectionSetup = JobDefinition<ConnectionJob, SyncJobResult>(
        name: "connection-setup", options: providerCall, uniqueKey: { $0.connectionID }, lockKey: { connectionLock($0.connectionID) })
    public static let accountDiscovery = JobDefinition<ConnectionJob, SyncJobResult>(
        name: "account-discovery", options: providerCall, uniqueKey: { $0.connectionID }, lockKey: { connectionLock($0.connectionID) })
    public static let initialSync = JobDefinition<ConnectionJob, SyncJobResult>(
        name: "initial-sync", options: providerCall, uniqueKey: { $0.connectionID }, lockKey: { connectionLock($0.connectionID) })
    /// Unique per connection while waiting: the tick, a manual request and a webhook collapse into
    /// one. A request while one runs makes one more run after it (the running one may have read
    /// the bank before the change the webhook announces).
    public static let syncBank = JobDefinition<ConnectionJob, SyncJobResult>(
        name: "sync-bank", options: providerCallWhileWaiting, uniqueKey: { $0.connectionID }, lockKey: { connectionLock($0.connectionID) })
    public static let updateBalances = JobDefinition<ConnectionJob, SyncJobResult>(
        name: "update-balances", options: providerCallWhileWaiting, uniqueKey: { $0.connectionID }, lockKey: { connectionLock($0.connectionID) })
    /// Not unique: a webhook that arrives while one runs must still cause one more run (the
    /// lock key keeps them one at a time; a run with nothing new is cheap).
    public static let syncTransactions = JobDefinition<ConnectionJob, SyncJobResult>(
        name: "sync-transactions", options: providerCall, lockKey: { connectionLock($0.connectionID) })
    public static let accountManagement = JobDefinition<AccountsJob, SyncJobResult>(
        name: "account-management", options: JobOptions(maxAttempts: 10))
    public static let refreshConnection = JobDefinition<ConnectionJob, SyncJobResult>(
        name: "refresh-connection", options: providerCall, uniqueKey: { $0.connectionID }, lockKey: { connectionLock($0.connectionID) })
    public static let createLinkToken = JobDefinition<LinkTokenJob, LinkTokenResult>(
        name: "create-link-token", options: JobOptions(priority: -20, maxAttempts: 3, backoff: .exponential(base: .seconds(1), cap: .seconds(10)), timeout: .seconds(30)))
    public static let connectionRecovery = JobDefinition<RecoveryJob, SyncJobResult>(
        name: "connection-recovery", options: JobOptions(maxAttempts: 1, timeout: .seconds(60)),
        uniqueKey: { "\($0.connectionID):\($0.attempt)" }, lockKey: { connectionLock($0.connectionID) })
    public static let connectionHealth = JobDefinition<ConnectionJob, SyncJobResult>(
        name: "connection-health", options: JobOptions(maxAttempts: 3, timeout: .seconds(60)),
        uniqueKey: { $0.connectionID }, lockKey: { connectionLock($0.connectionID) })
    public static let checkConnectionExpiration = JobDefinition<EmptyResult, SyncJobResult>(
        name: "check-connection-expiration", options: JobOptions(maxAttempts: 3, timeout: .seconds(300)))
    /// Unique per user while waiting: every sync that stores rows enqueues one, and they
    /// collapse; one enqueued while it runs (rows stored after it read) runs after it. The lock
    /// key keeps one user's batches one at a time.
    public static let categorizeTransactions = JobDefinition<CategorizeJob, SyncJobResult>(
        name: "categorize-transactions",
        options: JobOptions(maxAttempts: 5, backoff: .exponential(base: .seconds(5), cap: .seconds(300)), timeout: .seconds(600), uniqueWhileRunning: false),
        uniqueKey: { $0.userID }, lockKey: { "categorize:\($0.userID)" })
    public static let recategorizeTransactions = JobDefinition<RecategorizeJob, SyncJobResult>(
        name: "recategorize-transactions", options: JobOptions(maxAttempts: 5, timeout: .seconds(600)),
        uniqueKey: { "\($0.tenantID):\($0.userID ?? "*")" })
    public static let retrainCategorizer = JobDefinition<RetrainJob, SyncJobResult>(
        name: "retrain-categorizer", options: JobOptions(priority: 20, maxAttempts: 3, timeout: .seconds(1_800)), uniqueKey: { $0.tenantID },
        lockKey: { "retrain:\($0.tenantID)" })
    /// Daily: enqueues `retrain-categorizer` for every tenant with corrections newer than its model.
    public static let scheduleRetraining = JobDefinition<EmptyResult, SyncJobResult>(
        name: "schedule-retraining", options: JobOptions(maxAttempts: 3, timeout: .seconds(300)))
    /// The scheduler tick: enqueues the connections whose next sync time has come.
    public static let scheduleSyncs = JobDefinition<EmptyResult, SyncJobResult>(
        name: "schedule-syncs", options: JobOptions(priority: -30, maxAttempts: 1, timeout: .seconds(120)))
}
