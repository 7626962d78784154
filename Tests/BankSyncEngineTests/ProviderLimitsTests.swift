import BankSyncCore
import BankSyncEngine
import BankSyncProviders
import BankSyncStore
import BankSyncTesting
import Foundation
import Logging
import Synchronization
import Testing

@Suite("Provider rate limits and quotas shared through the database")
struct ProviderLimitsTests {
    @Test("one token bucket per provider, shared by every limiter on the database; refills with time", arguments: TestEngine.available)
    func bucket(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let clock = SimulatedClock(Date(timeIntervalSince1970: 1_780_000_000))
            var first = DatabaseProviderLimits(store: store, logger: testLogger(), now: { clock.now })
            first.maximumWait = .zero
            var second = DatabaseProviderLimits(store: store, logger: testLogger(), now: { clock.now })  // another worker process
            second.maximumWait = .zero
            try await first.configure(.init(plaid: 3, teller: 100, gocardless: 50))
            try await first.admit(.plaid)
            try await second.admit(.plaid)
            try await first.admit(.plaid)
            // The fourth request within the minute is refused by either, with the time of the next token.
            await #expect { try await second.admit(.plaid) } throws: { error in
                guard case .rateLimited(let at?) = (error as? ProviderError)?.kind else { return false }
                return at > clock.now && at <= clock.now.addingTimeInterval(22)
            }
            try await second.admit(.teller)  // other providers have their own bucket
            clock.set(clock.now.addingTimeInterval(20))  // 3 a minute: one token every 20 s
            try await second.admit(.plaid)
            await #expect(throws: ProviderError.self) { try await first.admit(.plaid) }
            // Resizing keeps the spent state: no fresh burst from a restart.
            try await first.configure(.init(plaid: 3, teller: 100, gocardless: 50))
            await #expect(throws: ProviderError.self) { try await first.admit(.plaid) }
        }
    }

    @Test("at high rates a limiter takes tokens in blocks, and all limiters together still admit exactly the bucket's tokens", arguments: TestEngine.available)
    func blocks(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let clock = SimulatedClock(Date(timeIntervalSince1970: 1_780_000_000))  // stands still: no refill
            var first = DatabaseProviderLimits(store: store, logger: testLogger(), now: { clock.now })
            first.maximumWait = .zero
            var second = DatabaseProviderLimits(store: store, logger: testLogger(), now: { clock.now })
            second.maximumWait = .zero
            // 1,200 a minute: a tenth of a second is 2 tokens, so blocks of 2.
            try await first.configure(.init(plaid: 1_200, teller: 60_000, gocardless: 50))
            var admitted = 0
            var refusedBoth = false
            while !refusedBoth {
                let a = (try? await first.admit(.plaid)) != nil
                let b = (try? await second.admit(.plaid)) != nil
                admitted += (a ? 1 : 0) + (b ? 1 : 0)
                refusedBoth = !a && !b
            }
            #expect(admitted == 1_200)
            // 60,000 a minute: blocks of the maximum. The first take is one token (the rate is
            // not known yet), the second a block; 22 requests took 1 + 20 + 20 from the bucket.
            for _ in 0..<22 { try await first.admit(.teller) }
            let left = Mutex(0.0)
            _ = try await store.providerLimits.takeTokens(.teller, upTo: 1, now: clock.now, remaining: { value in left.withLock { $0 = value } })
            #expect(left.withLock { $0 } == Self.tellerLeft)
            // Reserved tokens go stale: after the reserve's lifetime (the bucket refilled to full
            // meanwhile) the next request takes a new block instead of a spare token.
            clock.set(clock.now.addingTimeInterval(DatabaseProviderLimits.reserveLifetime + 1))
            try await first.admit(.teller)
            _ = try await store.providerLimits.takeTokens(.teller, upTo: 1, now: clock.now, remaining: { value in left.withLock { $0 = value } })
            #expect(left.withLock { $0 } == Self.tellerLeftAfterStale)
        }
    }

    /// 60,000 tokens less 41 taken by the limiter and 1 by the probe.
    static let tellerLeft = 60_000.0 - 42
    /// A full bucket less a block of 20 and the probe's 1.
    static let tellerLeftAfterStale = 60_000.0 - 21

    @Test("a short wait is waited out in-process instead of failing", arguments: TestEngine.available)
    func shortWait(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            // 600 a minute: one token every 100 ms of real time.
            let limits = DatabaseProviderLimits(store: store, logger: testLogger())
            try await limits.configure(.init(plaid: 600, teller: 1, gocardless: 1))
            for _ in 0..<605 { try await limits.admit(.plaid) }
        }
    }

    @Test("the quota ledger refuses a call it knows is spent until the reset, without calling", arguments: TestEngine.available)
    func ledger(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let clock = SimulatedClock(Date(timeIntervalSince1970: 1_780_000_000))
            let limits = DatabaseProviderLimits(store: store, logger: testLogger(), now: { clock.now })
            try await limits.admitScoped(.gocardless, accountID: "acc-1", scope: "balances")  // nothing known yet
            await limits.record(QuotaReading(provider: .gocardless, accountID: "acc-1", scope: "balances", limit: 4, remaining: 1, resetAt: clock.now.addingTimeInterval(3_600)))
            try await limits.admitScoped(.gocardless, accountID: "acc-1", scope: "balances")
            await limits.record(QuotaReading(provider: .gocardless, accountID: "acc-1", scope: "balances", limit: 4, remaining: 0, resetAt: clock.now.addingTimeInterval(3_600)))
            await #expect { try await limits.admitScoped(.gocardless, accountID: "acc-1", scope: "balances") } throws: { error in
                if case .quotaExhausted(let reset) = (error as? ProviderError)?.kind { return reset == clock.now.addingTimeInterval(3_600) }
                return false
            }
            try await limits.admitScoped(.gocardless, accountID: "acc-1", scope: "transactions")  // scopes are separate
            try await limits.admitScoped(.gocardless, accountID: "acc-2", scope: "balances")  // and accounts
            // A 429 without headers records "spent" but keeps the known limit.
            await limits.record(QuotaReading(provider: .gocardless, accountID: "acc-1", scope: "balances", limit: 0, remaining: 0, resetAt: clock.now.addingTimeInterval(7_200)))
            #expect(try await store.providerLimits.quota(.gocardless, accountKey: "acc-1", scope: "balances")?.limit == 4)
            clock.set(clock.now.addingTimeInterval(7_201))
            try await limits.admitScoped(.gocardless, accountID: "acc-1", scope: "balances")
        }
    }
}
