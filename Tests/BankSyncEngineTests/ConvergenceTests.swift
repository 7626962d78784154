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

@Suite("Convergence: a simulated month with faults ends exactly equal to the banks")
struct ConvergenceTests {
    @Test("30 days of the scheduler and webhooks driving syncs through 5xx, 429s, timeouts, a mutation mid-pagination and a login-required episode", arguments: TestEngine.available)
    func month(engine: TestEngine) async throws {
        try await EngineHarness.run(engine, seed: 23, historyDays: 45, providerTimeout: .milliseconds(800)) { h in
            let user = try await h.user()
            var connections: [Connection] = []
            for provider in Provider.allCases { connections.append(try await h.link(provider, user: user)) }
            try await h.drain()

            var faults: [FaultRule] = []
            for provider in SandboxProvider.allCases {
                faults.append(FaultRule(provider: provider, endpoint: "*", kind: .serverError, rate: 0.10))
                faults.append(FaultRule(provider: provider, endpoint: "*", kind: .rateLimit, rate: 0.05))
                faults.append(FaultRule(provider: provider, endpoint: "*", kind: .timeout, rate: 0.02, delayMilliseconds: 1_500))
            }
            faults.append(FaultRule(provider: .plaid, endpoint: "/transactions/sync", kind: .mutationDuringPagination, calls: [4]))
            await h.world.setFaults(faults)

            let plaid = connections[0]
            let teller = connections[1]
            for day in 1...30 {
                if day == 10 {
                    // The banks want the user to log in again; the webhooks say so.
                    _ = await h.world.setState(.loginRequired(reason: "credentials_invalid"), ofConnection: plaid.providerConnectionID)
                    _ = await h.world.setState(.loginRequired(reason: "credentials_invalid"), ofConnection: teller.providerConnectionID)
                }
                if day == 11 {
                    for connection in [plaid, teller] {
                        #expect(try await h.store.connections.get(connection.id)?.status == .requiresReauth, "\(connection.provider) waits for the user")
                        _ = await h.world.setState(.active, ofConnection: connection.providerConnectionID)
                        try await h.engine.relinked(connection.id)  // the user repaired it in update mode
                    }
                }
                try await h.advance(hours: 3, times: 8)
            }

            // The faults stop. Right after the sandbox's day turns (fresh GoCardless quotas), one
            // sync each; then the store must equal the banks exactly.
            await h.world.setFaults([])
            let secondsIntoDay = await h.world.now % 86_400
            try await h.advance(seconds: 86_400 - secondsIntoDay + 3_600)
            for connection in connections { try await h.engine.requestSync(connection.id) }
            try await h.drain()
            for connection in connections {
                let stored = try #require(try await h.store.connections.get(connection.id))
                #expect(stored.status == .connected, "\(connection.provider): \(stored.status) \(stored.errorCode ?? "")")
                try await h.expectConverged(connection, "\(connection.provider) after 30 days")
            }
            // The faults were real: the engine saw failures and rode them out.
            let failedRuns = try await h.store.database.withSession { db in
                try await db.raw("SELECT COUNT(*) AS n FROM sync_runs WHERE state = 'failed'").first()?.decode(column: "n", as: Int.self) ?? 0
            }
            #expect(failedRuns > 0)
        }
    }
}
