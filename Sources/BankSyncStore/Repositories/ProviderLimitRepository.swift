public import BankSyncCore
public import Foundation
import SQLKit

/// The rate limits and quotas every worker shares: one token bucket per provider, and the
/// provider's last word on each account's per-scope quota.
public struct ProviderLimitRepository: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// Creates or re-sizes `provider`'s bucket (a full bucket when new; a resized one keeps its
    /// tokens, capped at the new capacity).
    public func configureBucket(_ provider: Provider, perMinute: Double, capacity: Double, now: Date) async throws {
        try await database.withSession { db in
            try await db.raw(
                """
                INSERT INTO provider_rate_limits (provider, tokens, capacity, per_minute, refilled_at)
                VALUES (\(bind: provider.rawValue), \(bind: capacity), \(bind: capacity), \(bind: perMinute), \(bind: now.millisecondsSince1970))
                ON CONFLICT (provider) DO UPDATE SET capacity = excluded.capacity, per_minute = excluded.per_minute,
                    tokens = CASE WHEN provider_rate_limits.tokens > excluded.capacity THEN excluded.capacity ELSE provider_rate_limits.tokens END
                """
            ).run()
        }
    }

    /// What ``takeTokens(_:upTo:now:remaining:)`` got.
    public enum Take: Sendable, Equatable {
        /// `count` tokens taken (0 when the provider has no bucket), with the bucket's rate.
        case taken(count: Int, perMinute: Double)
        /// None taken: the next token comes in this long.
        case wait(Duration)
    }

    /// Takes `count` tokens from `provider`'s bucket in one statement when it holds that many,
    /// else one, else none (refilling it for the time since its last refill first), so
    /// concurrent workers never over-spend. `remaining` hears how many the bucket holds after.
    public func takeTokens(_ provider: Provider, upTo count: Int, now: Date, remaining: (@Sendable (Double) -> Void)?) async throws -> Take {
        let ms = now.millisecondsSince1970
        // refilled = min(capacity, tokens + elapsed · rate); clock skew between processes
        // (now before refilled_at) refills nothing rather than draining.
        let refilled: SQLQueryString = """
            (CASE WHEN tokens + (CASE WHEN \(bind: ms) > refilled_at THEN \(bind: ms) - refilled_at ELSE 0 END) * per_minute / 60000.0 > capacity
             THEN capacity
             ELSE tokens + (CASE WHEN \(bind: ms) > refilled_at THEN \(bind: ms) - refilled_at ELSE 0 END) * per_minute / 60000.0 END)
            """
        func take(_ n: Int, on db: any SQLDatabase) async throws -> Take? {
            guard let row = try await db.raw(
                """
                UPDATE provider_rate_limits SET tokens = \(refilled) - \(bind: n),
                    refilled_at = CASE WHEN \(bind: ms) > refilled_at THEN \(bind: ms) ELSE refilled_at END
                WHERE provider = \(bind: provider.rawValue) AND \(refilled) >= \(bind: n)
                RETURNING tokens, per_minute
                """
            ).first() else { return nil }
            remaining?(try row.decode(column: "tokens", as: Double.self))
            return .taken(count: n, perMinute: try row.decode(column: "per_minute", as: Double.self))
        }
        return try await database.withSession { db in
            if count > 1, let block = try await take(count, on: db) { return block }
            if let one = try await take(1, on: db) { return one }
            guard let row = try await db.raw(
                "SELECT tokens, per_minute, refilled_at FROM provider_rate_limits WHERE provider = \(bind: provider.rawValue)"
            ).first() else { return .taken(count: 0, perMinute: .infinity) }
            let tokens = try row.decode(column: "tokens", as: Double.self)
            let perMinute = try row.decode(column: "per_minute", as: Double.self)
            let elapsed = Double(max(0, ms - (try row.int64("refilled_at"))))
            let have = tokens + elapsed * perMinute / 60_000
            guard perMinute > 0 else { return .wait(.seconds(3_600)) }
            return .wait(.milliseconds(Int64(((1 - have) / perMinute * 60_000).rounded(.up)) + 1))
        }
    }

    /// Records what the provider said about `accountKey`'s quota for `scope`.
    public func recordQuota(
        _ provider: Provider, accountKey: String, scope: String, limit: Int, remaining: Int, resetAt: Date, now: Date
    ) async throws {
        try await database.withSession { db in
            try await db.raw(
                """
                INSERT INTO provider_quotas (provider, account_key, scope, quota_limit, remaining, reset_at, updated_at)
                VALUES (\(bind: provider.rawValue), \(bind: accountKey), \(bind: scope), \(bind: limit), \(bind: remaining),
                    \(bind: resetAt.millisecondsSince1970), \(bind: now.millisecondsSince1970))
                ON CONFLICT (provider, account_key, scope) DO UPDATE SET
                    quota_limit = CASE WHEN excluded.quota_limit > 0 THEN excluded.quota_limit ELSE provider_quotas.quota_limit END,
                    remaining = excluded.remaining, reset_at = excluded.reset_at, updated_at = excluded.updated_at
                """
            ).run()
        }
    }

    /// One account's quota for one scope as last recorded.
    public struct Quota: Sendable, Equatable {
        public let limit: Int
        public let remaining: Int
        public let resetAt: Date
    }

    /// The recorded quota, or nil if the provider never said.
    public func quota(_ provider: Provider, accountKey: String, scope: String) async throws -> Quota? {
        try await database.withReadSession { db in
            guard let row = try await db.raw(
                """
                SELECT quota_limit, remaining, reset_at FROM provider_quotas
                WHERE provider = \(bind: provider.rawValue) AND account_key = \(bind: accountKey) AND scope = \(bind: scope)
                """
            ).first() else { return nil }
            return Quota(limit: try row.int("quota_limit"), remaining: try row.int("remaining"), resetAt: try row.instant("reset_at"))
        }
    }
}
