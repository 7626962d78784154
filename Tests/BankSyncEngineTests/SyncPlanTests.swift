import BankSyncCore
import BankSyncEngine
import Foundation
import Testing

@Suite("Sync plans: provider defaults, adapted to activity, bounded by quotas")
struct SyncPlanTests {
    let now = Date(timeIntervalSince1970: 1_780_000_000)

    @Test("each provider starts from the guide's intervals", arguments: [(Provider.plaid, 6.0, 2.0), (.teller, 8, 3), (.gocardless, 12, 4)])
    func defaults(provider: Provider, transactions: Double, balances: Double) {
        let plan = SyncPlan.make(.init(provider: provider), now: now)
        #expect(plan.transactionInterval == transactions * 3_600)
        #expect(plan.balanceInterval == balances * 3_600)
        #expect(plan.note.contains("provider defaults"))
    }

    @Test("GoCardless's 4 calls a day: balances ride with the 12-hourly sync, one call kept for a manual sync, and the plan says so")
    func gocardlessQuota() {
        let plan = SyncPlan.make(.init(provider: .gocardless, dailyQuota: 4), now: now)
        #expect(plan.transactionInterval == 12 * 3_600)
        #expect(plan.balanceInterval == 12 * 3_600)
        #expect(plan.note.contains("4 calls a day") && plan.note.contains("manual sync"), "\(plan.note)")
        // Balance reads a day (24/T · ⌈T/B⌉) fit the 3 usable calls.
        #expect((86_400 / plan.transactionInterval) * (plan.transactionInterval / plan.balanceInterval).rounded(.up) <= 3)
    }

    @Test("an active user syncs sooner, but never past the quota")
    func activeUserWithinQuota() {
        let active = SyncPlan.make(.init(provider: .plaid, userLastActiveAt: now.addingTimeInterval(-3_600)), now: now)
        #expect(active.transactionInterval == 3 * 3_600 && active.balanceInterval == 3_600)
        let bounded = SyncPlan.make(.init(provider: .gocardless, dailyQuota: 4, userLastActiveAt: now.addingTimeInterval(-60)), now: now)
        #expect(bounded.transactionInterval == 8 * 3_600 && bounded.balanceInterval == 8 * 3_600, "\(bounded)")
        #expect(bounded.note.contains("user active in the last day"))
    }

    @Test("a dormant user and quiet accounts sync later; busy accounts sooner")
    func adapts() {
        let dormant = SyncPlan.make(.init(provider: .teller, userLastActiveAt: now.addingTimeInterval(-40 * 86_400)), now: now)
        #expect(dormant.transactionInterval == 16 * 3_600)
        let quiet = SyncPlan.make(.init(provider: .teller, recentChanges: [0, 0, 0, 0, 0]), now: now)
        #expect(quiet.transactionInterval == 12 * 3_600 && quiet.note.contains("brought nothing"))
        let busy = SyncPlan.make(.init(provider: .teller, recentChanges: [4, 1, 9]), now: now)
        #expect(busy.transactionInterval == 6 * 3_600)
        // Never more often than hourly.
        let hot = SyncPlan.make(.init(provider: .plaid, userLastActiveAt: now, recentChanges: [1, 1, 1]), now: now)
        #expect(hot.balanceInterval >= SyncPlan.minimumInterval && hot.transactionInterval >= SyncPlan.minimumInterval)
    }
}
