public import BankSyncCore
public import BankSyncProviders
public import BankSyncStore
public import Foundation
import Metrics
public import Logging

/// ``ProviderLimits`` kept in the database, so every worker process shares one token bucket
/// per provider and one quota ledger (providers limit per client, not per process).
///
/// A request waits for a token when one comes soon (``maximumWait``); otherwise it fails with
/// `rateLimited`, which the sync jobs turn into a snooze that does not use an attempt.
public struct DatabaseProviderLimits: ProviderLimits {
    /// Requests a minute per provider. Defaults from the guide: Plaid 200, Teller 100, GoCardless 50.
    public struct Rates: Sendable, Equatable {
        public var perMinute: [Provider: Double]

        public init(plaid: Double = 200, teller: Double = 100, gocardless: Double = 50) {
            perMinute = [.plaid: plaid, .teller: teller, .gocardless: gocardless]
        }
    }

    let repository: ProviderLimitRepository
    let now: @Sendable () -> Date
    let logger: Logger
    /// The longest a request waits in-process for a token before giving the worker back.
    public var maximumWait: Duration = .seconds(2)

    public init(database: Database, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.repository = ProviderLimitRepository(database: database)
        self.logger = logger
        self.now = now
    }

    public init(store: Store, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.init(database: store.database, logger: logger, now: now)
    }

    /// Creates or resizes the buckets (capacity: one minute's worth, so a burst after a quiet
    /// spell is at most a minute of requests).
    public func configure(_ rates: Rates) async throws {
        for (provider, perMinute) in rates.perMinute {
            try await repository.configureBucket(provider, perMinute: perMinute, capacity: max(1, perMinute), now: now())
        }
    }

    public func admit(_ provider: Provider) async throws {
        var waited = Duration.zero
        while true {
            let gauge = Gauge(label: "banksync_provider_rate_limit_remaining", dimensions: [("provider", provider.rawValue)])
            guard let wait = try await repository.takeToken(provider, now: now(), remaining: { gauge.record($0) }) else { return }
            if waited + wait > maximumWait {
                throw ProviderError(
                    .rateLimited(retryAt: now().addingTimeInterval(Double(wait.components.seconds) + 1)), provider: provider, code: "local_rate_limit",
                    message: "the shared \(provider.rawValue) request budget is spent; next token in \(wait)")
            }
            try await Task.sleep(for: wait)
            waited += wait
        }
    }

    public func admitScoped(_ provider: Provider, accountID: String, scope: String) async throws {
        guard let quota = try await repository.quota(provider, accountKey: accountID, scope: scope) else { return }
        if quota.remaining <= 0 && quota.resetAt > now() {
            throw ProviderError(
                .quotaExhausted(resetAt: quota.resetAt), provider: provider, code: "quota_ledger",
                message: "the \(scope) quota of this account is spent until \(quota.resetAt) (not called)")
        }
    }

    public func record(_ reading: QuotaReading) async {
        do {
            try await repository.recordQuota(
                reading.provider, accountKey: reading.accountID, scope: reading.scope, limit: reading.limit, remaining: reading.remaining,
                resetAt: reading.resetAt, now: now())
        } catch {
            // The ledger is advisory: the provider enforces its quota and says so with a 429.
            logger.warning("could not record a quota reading", metadata: ["provider": "\(reading.provider.rawValue)", "scope": "\(reading.scope)", "error": "\(error)"])
        }
    }
}
