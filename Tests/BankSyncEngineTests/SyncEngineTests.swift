import BankSyncCore
import BankSyncEngine
import BankSyncJobs
import BankSyncProviders
import BankSyncSandbox
import BankSyncStore
import BankSyncTesting
import Foundation
import SQLKit
import Testing

@Suite("Sync engine: the guide's jobs through the queue, end to end against the sandbox")
struct SyncEngineTests {
    @Test("linking each provider runs setup, discovery and the initial sync through the queue; the store equals the bank", arguments: TestEngine.available)
    func linkAndInitialSync(engine: TestEngine) async throws {
        try await EngineHarness.run(engine) { h in
            let user = try await h.user()
            for provider in Provider.allCases {
                let connection = try await h.link(provider, user: user)
                try await h.drain()
                try await h.expectConverged(connection, "\(provider) after the initial sync")
                let stored = try #require(try await h.store.connections.get(connection.id))
                #expect(stored.status == .connected, "\(provider)")
                #expect(stored.lastSyncedAt != nil && stored.nextSyncAt != nil && stored.nextBalanceSyncAt != nil, "\(provider) is scheduled")
                let types = try await h.store.events.list(connectionID: connection.id).map(\.type)
                #expect(types.contains("accounts.added") && types.contains("sync.completed"), "\(provider) events: \(types)")
                let runs = try await h.store.syncRuns.list(connectionID: connection.id)
                #expect(runs.first?.state == .completed && (runs.first?.added ?? 0) > 0, "\(provider) recorded its sync run")
            }
            // GoCardless's plan fits its quota of 4 calls a day and says so.
            let gocardless = try #require(try await h.store.connections.list(userID: user.id).first { $0.provider == .gocardless })
            #expect(gocardless.scheduleNote?.contains("4 calls a day") == true, "\(gocardless.scheduleNote ?? "no note")")
        }
    }

    @Test("a manual sync re-fetches 30 days; a second request joins it while it waits, or runs once more after it once it started", arguments: TestEngine.available)
    func manualSync(engine: TestEngine) async throws {
        try await EngineHarness.run(engine) { h in
            let user = try await h.user()
            let connection = try await h.link(.teller, user: user)
            try await h.drain()
            _ = await h.world.advance(seconds: 2 * 86_400)
            h.clock.set(Date(timeIntervalSince1970: Double(await h.world.now)))
            let first = try await h.engine.requestSync(connection.id)
            let second = try await h.engine.requestSync(connection.id)
            let firstToken = try #require(first.accessToken)
            if second.id == first.id {
                #expect(second.isDuplicate)
            } else {
                // The workers had claimed the first already: it may have read the bank before
                // the second request, so the second is one more run after it.
                let state = try await h.queue.status(id: first.id, token: firstToken)?.state
                #expect(state == .running || state == .completed, "\(String(describing: state))")
                #expect(!second.isDuplicate)
            }
            try await h.drain()
            try await h.expectConverged(connection, "after the manual sync")
            let token = try #require(first.accessToken)
            let status = try #require(try await h.queue.status(id: first.id, token: token))
            #expect(status.state == .completed)
        }
    }

    @Test("webhooks: Plaid updates enqueue a sync, a login error tells the user once, an update-mode relink syncs again", arguments: TestEngine.available)
    func webhooks(engine: TestEngine) async throws {
        try await EngineHarness.run(engine) { h in
            let user = try await h.user()
            let plaid = try await h.link(.plaid, user: user)
            let teller = try await h.link(.teller, user: user)
            try await h.drain()
            _ = try await h.deliverWebhooks()

            // New transactions at the bank; refresh-connection asks Plaid to look, Plaid says so
            // by webhook, and the sync follows.
            _ = await h.world.advance(seconds: 86_400)
            h.clock.set(Date(timeIntervalSince1970: Double(await h.world.now)))
            _ = await h.world.takeOutbox()
            try await h.queue.enqueue(SyncJobs.refreshConnection, ConnectionJob(connectionID: plaid.id, reason: "test"))
            try await h.drain()
            let outcomes = try await h.deliverWebhooks()
            #expect(outcomes.contains { $0.connectionID == plaid.id && $0.action == "sync enqueued" }, "\(outcomes)")
            try await h.drain()
            try await h.expectConverged(plaid, "after the webhook-driven sync")

            // Login required: both providers' webhooks move the connection and tell the user once.
            _ = await h.world.setState(.loginRequired(reason: "credentials_invalid"), ofConnection: plaid.providerConnectionID)
            _ = await h.world.setState(.loginRequired(reason: "credentials_invalid"), ofConnection: teller.providerConnectionID)
            _ = try await h.deliverWebhooks()
            _ = await h.world.setState(.loginRequired(reason: "credentials_invalid"), ofConnection: plaid.providerConnectionID)  // again
            _ = try await h.deliverWebhooks()
            for connection in [plaid, teller] {
                let stored = try #require(try await h.store.connections.get(connection.id))
                #expect(stored.status == .requiresReauth && stored.nextSyncAt == nil, "\(connection.provider)")
                let reauth = try await h.store.events.list(connectionID: connection.id).filter { $0.type == "connection.requires_reauth" }
                #expect(reauth.count == 1, "\(connection.provider): one event, not one per webhook")
            }
            // A manual sync is refused while the user must act.
            await #expect(throws: StoreError.self) { try await h.engine.requestSync(plaid.id) }

            // The user repairs the login in update mode.
            _ = await h.world.setState(.active, ofConnection: plaid.providerConnectionID)
            _ = await h.world.advance(seconds: 86_400)
            h.clock.set(Date(timeIntervalSince1970: Double(await h.world.now)))
            try await h.engine.relinked(plaid.id)
            try await h.drain()
            #expect(try await h.store.connections.get(plaid.id)?.status == .connected)
            try await h.expectConverged(plaid, "after the relink")

            // Teller Connect's reconnect hands back the same enrollment: the connection is
            // re-pointed (no second one) and synced by the next tick.
            _ = await h.world.setState(.active, ofConnection: teller.providerConnectionID)
            let token = try #require(try await h.store.connections.accessToken(for: teller.id))
            let (again, _) = try await h.engine.link(
                userID: user.id, provider: .teller, completion: .enrollment(accessToken: token, enrollmentID: teller.providerConnectionID))
            #expect(again.id == teller.id)
            try await h.advance(seconds: 60)
            #expect(try await h.store.connections.get(teller.id)?.status == .connected)
            #expect(try await h.store.connections.list(userID: user.id).filter { $0.provider == .teller }.count == 1)
            try await h.expectConverged(teller, "after the Teller reconnect")

            // Unknown items and broken bodies are answered, not crashed on.
            let unknown = try await h.engine.handleWebhook(provider: .plaid, body: Array(#"{"item_id": "nope", "webhook_type": "TRANSACTIONS", "webhook_code": "SYNC_UPDATES_AVAILABLE"}"#.utf8))
            #expect(unknown.action.hasPrefix("ignored"))
            await #expect(throws: StoreError.self) { try await h.engine.handleWebhook(provider: .plaid, body: Array("{not json".utf8)) }
        }
    }

    @Test("a failing bank: retries, then recovery at 15/30/60 minutes, then the user is told; a recovered bank syncs again", arguments: TestEngine.available)
    func recovery(engine: TestEngine) async throws {
        try await EngineHarness.run(engine) { h in
            let user = try await h.user()
            let connection = try await h.link(.teller, user: user)
            try await h.drain()
            // The bank is down for everything: the sync's 5 attempts fail, recovery starts.
            await h.world.setFaults([FaultRule(provider: .teller, endpoint: "**", kind: .unavailable, rate: 1)])
            try await h.engine.requestSync(connection.id)
            for _ in 0..<8 {
                try await h.drain()
                h.clock.set(h.clock.now.addingTimeInterval(700))  // past each backoff (≤ 600 s)
            }
            var stored = try #require(try await h.store.connections.get(connection.id))
            #expect(stored.status == .error && stored.nextSyncAt == nil && stored.errorCount == 5, "\(stored.status) \(stored.errorCount)")
            // Three recovery attempts, 15, 30 and 60 minutes apart, all failing.
            for minutes in [15, 30, 60] {
                h.clock.set(h.clock.now.addingTimeInterval(Double(minutes * 60)))
                try await h.drain()
            }
            stored = try #require(try await h.store.connections.get(connection.id))
            #expect(stored.recoveryAttempts == 3)
            var types = try await h.store.events.list(connectionID: connection.id).map(\.type)
            #expect(types.filter { $0 == "connection.failed" }.count == 1, "\(types)")

            // The bank comes back; a manual sync (the user pressing "sync now") heals it.
            await h.world.setFaults([])
            try await h.engine.requestSync(connection.id)
            try await h.drain()
            stored = try #require(try await h.store.connections.get(connection.id))
            #expect(stored.status == .connected && stored.errorCount == 0 && stored.nextSyncAt != nil)

            // A shorter outage: recovery's first attempt finds the bank healthy.
            await h.world.setFaults([FaultRule(provider: .teller, endpoint: "/accounts/**", kind: .unavailable, rate: 1)])
            try await h.engine.requestSync(connection.id)
            for _ in 0..<8 {
                try await h.drain()
                h.clock.set(h.clock.now.addingTimeInterval(700))
            }
            await h.world.setFaults([])
            h.clock.set(h.clock.now.addingTimeInterval(900))
            try await h.drain()
            types = try await h.store.events.list(connectionID: connection.id).map(\.type)
            #expect(types.contains("connection.recovered"), "\(types)")
            try await h.expectConverged(connection, "after recovery")
        }
    }

    @Test("create-link-token: new and update mode for each provider, as job results; a wrong connection is refused", arguments: TestEngine.available)
    func linkTokens(engine: TestEngine) async throws {
        try await EngineHarness.run(engine) { h in
            let user = try await h.user()
            let plaid = try await h.link(.plaid, user: user)
            let teller = try await h.link(.teller, user: user)
            let gocardless = try await h.link(.gocardless, user: user)
            try await h.drain()
            func result(_ job: LinkTokenJob) async throws -> (JobStatus, LinkTokenResult?) {
                let enqueued = try await h.queue.enqueue(SyncJobs.createLinkToken, job)
                try await h.drain()
                let token = try #require(enqueued.accessToken)
                let status = try #require(try await h.queue.status(id: enqueued.id, token: token))
                let decoded = try status.result.map { try JSONDecoder().decode(LinkTokenResult.self, from: Data($0.utf8)) }
                return (status, decoded)
            }
            let newPlaid = try #require(try await result(LinkTokenJob(userID: user.id, provider: .plaid)).1)
            #expect(newPlaid.mode == "new" && newPlaid.token.hasPrefix("link-sandbox-"))
            let updatePlaid = try #require(try await result(LinkTokenJob(userID: user.id, provider: .plaid, connectionID: plaid.id)).1)
            #expect(updatePlaid.mode == "update" && updatePlaid.token.hasPrefix("link-sandbox-"))
            let updateTeller = try #require(try await result(LinkTokenJob(userID: user.id, provider: .teller, connectionID: teller.id)).1)
            #expect(updateTeller.mode == "update" && updateTeller.url?.contains(teller.providerConnectionID) == true)
            let newGoCardless = try #require(try await result(LinkTokenJob(userID: user.id, provider: .gocardless, institutionID: "REVOLUT_REVOGB21", redirectURL: "https://app.example/back")).1)
            #expect(newGoCardless.mode == "new" && newGoCardless.url != nil)
            let updateGoCardless = try #require(try await result(LinkTokenJob(userID: user.id, provider: .gocardless, connectionID: gocardless.id, redirectURL: "https://app.example/back")).1)
            #expect(updateGoCardless.mode == "update" && updateGoCardless.url != nil && updateGoCardless.token != newGoCardless.token)
            // GoCardless without a bank, and another provider's connection, fail with a reason.
            let (missing, _) = try await result(LinkTokenJob(userID: user.id, provider: .gocardless))
            #expect(missing.state == .discarded && missing.errors.last?.message.contains("institution") == true)
            let (wrong, _) = try await result(LinkTokenJob(userID: user.id, provider: .plaid, connectionID: teller.id))
            #expect(wrong.state == .discarded && wrong.errors.last?.message.contains("not a plaid connection") == true)
        }
    }

    @Test("the expiry check run daily for two weeks emits exactly one warning and one critical notice", arguments: TestEngine.available)
    func expiryNotices(engine: TestEngine) async throws {
        try await EngineHarness.run(engine) { h in
            let user = try await h.user()
            let connection = try await h.link(.gocardless, user: user)
            try await h.drain()
            var stored = try #require(try await h.store.connections.get(connection.id))
            stored.consentExpiresAt = h.clock.now.addingTimeInterval(16 * 86_400)
            try await h.store.connections.update(stored)
            for _ in 0..<17 {
                h.clock.set(h.clock.now.addingTimeInterval(86_400))
                try await h.queue.enqueue(SyncJobs.checkConnectionExpiration, EmptyResult())
                try await h.drain()
            }
            let expiring = try await h.store.events.list(connectionID: connection.id).filter { $0.type == "connection.expiring" }
            #expect(expiring.compactMap { $0.payload["severity"]?.stringValue } == ["warning", "critical"])
            // Past the end: the connection is expired and the user told.
            #expect(try await h.store.connections.get(connection.id)?.status == .expired)
            #expect(try await h.store.events.list(connectionID: connection.id).contains { $0.type == "connection.requires_reauth" })
        }
    }

    @Test("the ledger check flags a gap and a sign error, and clears once the rows are complete again", arguments: TestEngine.available)
    func ledgerCheck(engine: TestEngine) async throws {
        try await EngineHarness.run(engine) { h in
            let user = try await h.user()
            let connection = try await h.link(.teller, user: user)
            try await h.drain()
            let account = try #require(try await h.store.accounts.list(connectionID: connection.id).first { $0.type == .depository })
            let state = try #require(try await h.store.accounts.ledgerState(account.id))
            #expect(state.baselineMinor != nil && state.issue == nil && state.coverageFrom != nil && state.coverageTo != nil)
            let check = LedgerCheck(store: h.store, logger: h.logger)

            // A gap: the newest posted row goes missing from the store.
            let rows = try await h.store.transactions.list(userID: user.id, limit: 1_000_000).filter { $0.accountID == account.id && $0.status == .posted }
            let newest = try #require(rows.max { ($0.date, $0.providerTransactionID) < ($1.date, $1.providerTransactionID) })
            try await h.store.database.withSession { db in try await db.raw("DELETE FROM transactions WHERE id = \(bind: newest.id.rawValue)").run() }
            #expect(try await check.run(connectionID: connection.id, now: h.clock.now)[account.id] == .mismatch(differenceMinor: newest.amount.minorUnits))
            #expect(try await h.store.accounts.ledgerState(account.id)?.issue?.contains("unaccounted") == true)
            // A manual sync re-fetches the last 30 days: the row is back and the check passes.
            try await h.engine.requestSync(connection.id)
            try await h.drain()
            #expect(try await h.store.accounts.ledgerState(account.id)?.issue == nil)

            // A sign error shows as twice the row's amount.
            let row = try #require(try await h.store.transactions.list(userID: user.id, limit: 1_000_000).first { $0.accountID == account.id && $0.status == .posted })
            try await h.store.database.withSession { db in
                try await db.raw("UPDATE transactions SET amount_minor = \(bind: -row.amount.minorUnits) WHERE id = \(bind: row.id.rawValue)").run()
            }
            #expect(try await check.run(connectionID: connection.id, now: h.clock.now)[account.id] == .mismatch(differenceMinor: 2 * row.amount.minorUnits))
        }
    }

    @Test("a malformed provider answer fails the sync with a recorded reason; nothing stored is lost; the connection is not left syncing", arguments: TestEngine.available)
    func malformedAnswer(engine: TestEngine) async throws {
        try await EngineHarness.run(engine) { h in
            let user = try await h.user()
            let connection = try await h.link(.plaid, user: user)
            try await h.drain()
            let before = try await h.store.transactions.list(userID: user.id, limit: 1_000_000).count
            await h.world.setFaults([FaultRule(provider: .plaid, endpoint: "/transactions/sync", kind: .truncatedJSON, calls: [1])])
            _ = await h.world.advance(seconds: 86_400)
            h.clock.set(Date(timeIntervalSince1970: Double(await h.world.now)))
            try await h.queue.enqueue(SyncJobs.syncTransactions, ConnectionJob(connectionID: connection.id))
            try await h.drain()
            let failed = try await h.store.syncRuns.list(connectionID: connection.id).first { $0.state == .failed }
            #expect(failed?.errorCode == "malformed_response")
            let stored = try #require(try await h.store.connections.get(connection.id))
            #expect(stored.status == .error && stored.errorCode == "malformed_response")
            #expect(try await h.store.transactions.list(userID: user.id, limit: 1_000_000).count >= before)
            // The retry (after its backoff) succeeds and heals the connection.
            h.clock.set(h.clock.now.addingTimeInterval(30))
            try await h.drain()
            #expect(try await h.store.connections.get(connection.id)?.status == .connected)
            try await h.expectConverged(connection, "after the retry", balances: false)  // a transaction sync alone
        }
    }

    @Test(
        "unreadable rows (unknown currency, bad amount, no date, unknown account) are skipped with their reasons in the SyncRun; odd enum values are read; nothing stored is lost",
        arguments: TestEngine.available)
    func unreadableRows(engine: TestEngine) async throws {
        try await EngineHarness.run(engine) { h in
            let user = try await h.user()
            let cases: [(Provider, String, [String])] = [
                (.plaid, "/transactions/sync", ["unknown currency code 'XQZ'", "account acct-not-on-this-item is not one the provider lists"]),
                (.teller, "/accounts/*/transactions", ["malformed amount '12.5.0'"]),
                (.gocardless, "/api/v2/accounts/*/transactions/", ["unknown currency code 'XQZ'"]),
            ]
            for (provider, endpoint, reasons) in cases {
                let connection = try await h.link(provider, user: user)
                try await h.drain()
                _ = await h.world.advance(seconds: 2 * 86_400)
                h.clock.set(Date(timeIntervalSince1970: Double(await h.world.now)))
                _ = await h.world.takeOutbox()
                let accountIDs = Set(try await h.store.accounts.list(connectionID: connection.id).map(\.id))
                let before = try await h.store.transactions.list(userID: user.id, limit: 1_000_000).filter { accountIDs.contains($0.accountID) }
                await h.world.setFaults([FaultRule(provider: SandboxProvider(rawValue: provider.rawValue)!, endpoint: endpoint, kind: .oddRows, calls: [1])])
                try await h.queue.enqueue(SyncJobs.syncTransactions, ConnectionJob(connectionID: connection.id))
                try await h.drain()
                await h.world.setFaults([])

                let run = try #require(try await h.store.syncRuns.list(connectionID: connection.id).first)
                #expect(run.state == .completed, "\(provider): \(run.errorMessage ?? "")")
                #expect(run.skipped == run.notes.filter { !$0.contains("held back") }.count && run.skipped >= reasons.count, "\(provider): \(run.notes)")
                for reason in reasons {
                    #expect(run.notes.contains { $0.contains(reason) }, "\(provider): no note says \(reason): \(run.notes)")
                }
                #expect(try await h.store.connections.get(connection.id)?.status == .connected)
                // Nothing already stored was lost: every row stored before that the bank still has is still stored.
                let after = Set(try await h.store.transactions.list(userID: user.id, limit: 1_000_000).map(\.providerTransactionID))
                for row in before where row.status == .posted {
                    let account = try #require(try await h.store.accounts.get(row.accountID))
                    if await h.world.currentTransactions(ofAccount: account.providerAccountID).contains(where: { $0.id == row.providerTransactionID }) {
                        #expect(after.contains(row.providerTransactionID), "\(provider): \(row.providerTransactionID) was lost")
                    }
                }
                // The odd enum values were read as ordinary rows.
                if provider == .plaid {
                    #expect(run.notes.allSatisfy { !$0.contains("telepathy") && !$0.contains("NEW_PRIMARY") })
                }

                // The next clean answer: date windows converge; Plaid's cursor has moved past the
                // skipped rows, so all but those equal the bank.
                try await h.queue.enqueue(SyncJobs.syncTransactions, ConnectionJob(connectionID: connection.id))
                try await h.drain()
                if provider == .plaid {
                    let skippedIDs = Set(run.notes.compactMap { $0.split(separator: ":").first.map(String.init) })
                    for account in try await h.store.accounts.list(connectionID: connection.id) {
                        let truth = Set(await h.world.currentTransactions(ofAccount: account.providerAccountID).map(\.id))
                        let stored = Set(try await h.store.transactions.list(userID: user.id, limit: 1_000_000).filter { $0.accountID == account.id }.map(\.providerTransactionID))
                        #expect(stored.isSubset(of: truth) && truth.subtracting(stored).isSubset(of: skippedIDs), "plaid: \(truth.symmetricDifference(stored)) vs skipped \(skippedIDs)")
                    }
                } else {
                    try await h.expectConverged(connection, "\(provider) after a clean sync", balances: false)
                }
            }
        }
    }

    @Test(
        "a GoCardless reconnect (a new requisition, new account ids) re-points the connection: same connection and accounts, history kept, in sync again",
        arguments: TestEngine.available)
    func goCardlessReconnect(engine: TestEngine) async throws {
        try await EngineHarness.run(engine) { h in
            let user = try await h.user()
            let connection = try await h.link(.gocardless, user: user)
            try await h.drain()
            let accountsBefore = try await h.store.accounts.list(connectionID: connection.id)
            let rowsBefore = try await h.store.transactions.list(userID: user.id, limit: 1_000_000).count
            // The consent ends at the bank: the next sync finds the agreement expired.
            await h.world.setFaults([FaultRule(provider: .gocardless, endpoint: "/api/v2/accounts/**", kind: .loginRequired, rate: 1)])
            try await h.engine.requestSync(connection.id)
            try await h.drain()
            let broken = try #require(try await h.store.connections.get(connection.id))
            #expect(!broken.status.isSyncable, "\(broken.status)")
            await h.world.setFaults([])

            // Reconnect: a new requisition for the same bank customer, completed for this connection.
            let session = try await h.gocardless.createLink(
                LinkRequest(userID: user.externalID, institutionID: "REVOLUT_REVOGB21", redirectURL: "https://app.example/back"))
            _ = await h.world.completeGoCardlessConsent(requisition: session.token, sameCustomerAs: connection.providerConnectionID)
            // Not for another provider's connection, nor someone else's.
            let plaid = try await h.link(.plaid, user: user)
            await #expect(throws: StoreError.self) {
                try await h.engine.link(userID: user.id, provider: .gocardless, completion: .requisition(id: session.token), replacing: plaid.id)
            }
            let (relinked, _) = try await h.engine.link(userID: user.id, provider: .gocardless, completion: .requisition(id: session.token), replacing: connection.id)
            #expect(relinked.id == connection.id && relinked.providerConnectionID == session.token)
            try await h.drain()
            try await h.advance(hours: 1)

            let stored = try #require(try await h.store.connections.get(connection.id))
            #expect(stored.status == .connected && stored.providerConnectionID == session.token)
            #expect(try await h.store.connections.list(userID: user.id).filter { $0.provider == .gocardless }.count == 1)
            let accountsAfter = try await h.store.accounts.list(connectionID: connection.id)
            #expect(Set(accountsAfter.map(\.id)) == Set(accountsBefore.map(\.id)), "the same accounts, not new ones")
            #expect(Set(accountsAfter.map(\.providerAccountID)).isDisjoint(with: Set(accountsBefore.map(\.providerAccountID))), "under the new requisition's ids")
            #expect(try await h.store.transactions.list(userID: user.id, limit: 1_000_000).count >= rowsBefore)
            try await h.expectConverged(stored, "after the reconnect")
        }
    }
}
