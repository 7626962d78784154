public import BankSyncCore
public import BankSyncProviders
public import BankSyncStore
public import Foundation
import Metrics
import Synchronization
public import Logging

/// ``ProviderLimits`` kept in the database, so every worker process shares one token bucket
/// per provider and one quota ledger (providers limit per client, not per process).
///
/// A request waits for a token when one comes soon (``maximumWait``); otherwise it fails with
/// `rateLimited`, which the sync jobs turn into a snooze that does not use an attempt.
///
/// At high rates a limiter takes tokens in blocks of up to a tenth of a second's worth (at most
/// ``maximumBlock``) and hands them out from memory, so a fast sync does not pay one committed
/// UPDATE per provider request. Tokens are only ever taken from the shared bucket, never made
/// up, so all processes together still stay within the rate; a block unused after
/// ``reserveLifetime`` is dropped, which bounds how late a token can be spent. At the guide's
/// default rates (a few requests a second) a block is one token: nothing changes there.
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
    /// The most tokens taken from the shared bucket at once.
    public static let maximumBlock = 20
    /// How long tokens taken ahead of use stay usable.
    public static let reserveLifetime: TimeInterval = 1
    let reserve = TokenReserve()

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
        if reserve.take(provider, now: now()) { return }
        var waited = Duration.zero
        while true {
            let gauge = Gauge(label: "banksync_provider_rate_limit_remaining", dimensions: [("provider", provider.rawValue)])
            let block = reserve.blockSize(provider)
            let wait: Duration
            switch try await repository.takeTokens(provider, upTo: block, now: now(), remaining: { gauge.record($0) }) {
            case .taken(let count, let perMinute):
                reserve.keep(provider, spare: count - 1, perMinute: perMinute, now: now())
                return
            case .wait(let duration):
                wait = duration
            }
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

/// Tokens one limiter took from the shared bucket ahead of use, per provider, and the block
/// size each provider's rate allows (learned from the bucket on every take).
final class TokenReserve: Sendable {
    private struct Entry {
        var spare = 0
        var takenAt = Date.distantPast
        var block = 1

        /// Whether tokens taken at `takenAt` may still be spent at `now` (not before it: a
        /// clock that went back makes them stale).
        func isFresh(at now: Date) -> Bool {
            let age = now.timeIntervalSince(takenAt)
            return age >= 0 && age <= DatabaseProviderLimits.reserveLifetime
        }
    }

    private let entries = Mutex<[Provider: Entry]>([:])

    /// Spends one reserved token if there is a fresh one.
    func take(_ provider: Provider, now: Date) -> Bool {
        entries.withLock { entries in
            guard var entry = entries[provider], entry.spare > 0 else { return false }
            guard entry.isFresh(at: now) else {
                entry.spare = 0
                entries[provider] = entry
                return false
            }
            entry.spare -= 1
            entries[provider] = entry
            return true
        }
    }

    /// How many tokens to ask the bucket for: a tenth of a second of its rate, 1 to ``DatabaseProviderLimits/maximumBlock``.
    func blockSize(_ provider: Provider) -> Int { entries.withLock { $0[provider]?.block ?? 1 } }

    /// Keeps `spare` tokens just taken (added to fresh ones; stale ones are dropped) and the
    /// block size for the bucket's rate.
    func keep(_ provider: Provider, spare: Int, perMinute: Double, now: Date) {
        let tenthOfASecond = perMinute.isFinite ? perMinute / 600 : 1
        let block = Int(min(Double(DatabaseProviderLimits.maximumBlock), max(1, tenthOfASecond.rounded(.down))))
        entries.withLock { entries in
            var entry = entries[provider] ?? Entry()
            entry.block = block
            if spare > 0 {
                entry.spare = (entry.isFresh(at: now) ? entry.spare : 0) + spare
                entry.takenAt = now
            }
            entries[provider] = entry
        }
    }
}
