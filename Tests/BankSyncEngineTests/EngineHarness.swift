import AsyncHTTPClient
import BankSyncCore
import BankSyncEngine
import BankSyncJobs
import BankSyncProviders
import BankSyncSandbox
import BankSyncStore
import BankSyncTesting
import Foundation
import Logging
import SQLKit
import ServiceLifecycle
import Synchronization
import Testing

/// A settable clock shared by the engine, the queue and the provider clients, kept equal to the
/// sandbox's clock so a simulated month runs in seconds.
final class SimulatedClock: Sendable {
    private let current: Mutex<Date>
    init(_ date: Date) { current = Mutex(date) }
    var now: Date { current.withLock { $0 } }
    func set(_ date: Date) { current.withLock { $0 = date } }
}

/// The whole engine — queue, worker, scheduler, provider clients over HTTP — against a sandbox,
/// on the sandbox's clock.
struct EngineHarness {
    let world: SandboxWorld
    let store: Store
    let queue: JobQueue
    let engine: SyncEngine
    let clock: SimulatedClock
    let plaid: PlaidClient
    let teller: TellerClient
    let gocardless: GoCardlessClient
    let plaidVerifier: PlaidWebhookVerifier
    let tellerVerifier: TellerWebhookVerifier
    let logger: Logger

    /// Runs `body` with a migrated store of `engine`, a sandbox on loopback, and a worker running.
    static func run(
        _ engineKind: TestEngine, seed: UInt64 = 11, historyDays: Int = 60, configuration: SyncEngine.Configuration = SyncEngine.Configuration(),
        providerTimeout: Duration = .seconds(30),
        _ body: (EngineHarness) async throws -> Void
    ) async throws {
        var logger = Logger(label: "engine-test")
        logger.logLevel = ProcessInfo.processInfo.environment["BANKSYNC_TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
        let world = SandboxWorld(configuration: .init(seed: seed, historyDays: historyDays))
        // Outbound webhooks go to receivers on loopback in these tests.
        var configuration = configuration
        let transport = HTTPWebhookTransport()
        if configuration.webhooks.transport == nil { configuration.webhooks.transport = transport }
        configuration.webhooks.addressPolicy = WebhookAddressPolicy(allowPrivateAddresses: true)
        let clock = SimulatedClock(Date(timeIntervalSince1970: Double(await world.now)))
        do {
            try await runHarness(engineKind, world: world, clock: clock, configuration: configuration, providerTimeout: providerTimeout, logger: logger, body)
        } catch {
            try? await transport.shutdown()
            throw error
        }
        try await transport.shutdown()
    }

    private static func runHarness(
        _ engineKind: TestEngine, world: SandboxWorld, clock: SimulatedClock, configuration: SyncEngine.Configuration, providerTimeout: Duration,
        logger: Logger, _ body: (EngineHarness) async throws -> Void
    ) async throws {
        try await withTestStore(engineKind) { store, _ in
            try await SandboxServer(world: world, logger: logger).withRunning(deliverWebhooks: false) { base in
                let http = HTTPClient(eventLoopGroupProvider: .singleton)
                do {
                    let limits = DatabaseProviderLimits(store: store, logger: logger, now: { clock.now })
                    try await limits.configure(.init())
                    let plaid = PlaidClient(
                        configuration: .init(baseURL: base + "/plaid", clientID: "sandbox-client-id", secret: "sandbox-secret", webhookURL: "http://127.0.0.1:9/webhooks/plaid"),
                        client: http, logger: logger, limits: limits, timeout: providerTimeout, now: { clock.now })
                    let teller = TellerClient(
                        configuration: .init(baseURL: base + "/teller"), client: http, logger: logger, limits: limits, timeout: providerTimeout, now: { clock.now })
                    let gocardless = GoCardlessClient(
                        configuration: .init(baseURL: base + "/gocardless", secretID: "sandbox-secret-id", secretKey: "sandbox-secret-key"), client: http,
                        logger: logger, limits: limits, timeout: providerTimeout, now: { clock.now })
                    await world.setTellerWebhookURL("http://127.0.0.1:9/webhooks/teller")
                    let queue = JobQueue(database: store.database, logger: logger, now: { clock.now })
                    let engine = SyncEngine(store: store, queue: queue, providers: [plaid, teller, gocardless], configuration: configuration, logger: logger)
                    var registry = JobRegistry()
                    engine.register(into: &registry)
                    let worker = JobWorker(
                        queue: queue, registry: registry,
                        configuration: .init(concurrency: 4, leaseDuration: .seconds(60), pollInterval: .milliseconds(20), shutdownDeadline: .seconds(5)), logger: logger)
                    let harness = EngineHarness(
                        world: world, store: store, queue: queue, engine: engine, clock: clock, plaid: plaid, teller: teller, gocardless: gocardless,
                        plaidVerifier: PlaidWebhookVerifier { try await plaid.webhookKey(id: $0) },
                        tellerVerifier: TellerWebhookVerifier(secrets: ["sandbox-teller-signing-secret"]), logger: logger)
                    // The scheduler's first sight of a schedule only records it: do that now, so the
                    // first advance already ticks.
                    try await JobScheduler(queue: queue, schedules: try engine.schedules(), logger: logger).tick()
                    let webhookWorker = JobWorker(
                        queue: queue, registry: registry,
                        configuration: .init(queue: "webhooks", concurrency: 4, leaseDuration: .seconds(60), pollInterval: .milliseconds(20), shutdownDeadline: .seconds(5)),
                        logger: logger)
                    try await withServices([worker, webhookWorker]) { try await body(harness) }
                } catch {
                    try? await http.shutdown()
                    throw error
                }
                try await http.shutdown()
            }
        }
    }

    /// Waits until no job is due or running (jobs scheduled later on the simulated clock wait
    /// for ``advance(hours:)``).
    func drain(timeout: Duration = .seconds(60)) async throws {
        if try await queue.waitUntilIdle(timeout: timeout) { return }
        let stuck = try await store.database.withSession { db in
            try await db.raw("SELECT name, state FROM jobs WHERE state NOT IN ('completed', 'discarded', 'cancelled')").all()
                .map { "\(try $0.decode(column: "name", as: String.self)):\(try $0.decode(column: "state", as: String.self))" }
        }
        throw DrainTimedOut(pending: stuck)
    }

    /// Moves the sandbox (new days, postings, edits) and the engine's clock forward together,
    /// hands the webhooks the sandbox sent to the engine (verified), runs the scheduler's tick,
    /// and drains the queue.
    func advance(hours: Int, times: Int = 1) async throws {
        for _ in 0..<times { try await advance(seconds: Int64(hours) * 3_600) }
    }

    func advance(seconds: Int64) async throws {
        // In one-minute steps, so webhooks are delivered while fresh (Teller allows 3 minutes, Plaid 5).
        var left = seconds
        while left > 0 {
            let step = min(left, 60)
            _ = await world.advance(seconds: step)
            left -= step
            clock.set(Date(timeIntervalSince1970: Double(await world.now)))
            try await deliverWebhooks()
        }
        try await JobScheduler(queue: queue, schedules: try engine.schedules(), logger: logger).tick()
        try await drain()
        // Webhooks the jobs caused (a refresh's SYNC_UPDATES_AVAILABLE), and the work they start.
        while try await !deliverWebhooks().isEmpty { try await drain() }
    }

    /// The sandbox's outbox, verified and handed to the engine as the HTTP endpoint would.
    @discardableResult
    func deliverWebhooks() async throws -> [WebhookOutcome] {
        var outcomes: [WebhookOutcome] = []
        for hook in await world.takeOutbox() {
            let header = { (name: String) in hook.headers.first { $0.0.lowercased() == name }?.1 }
            switch hook.provider {
            case .plaid:
                try await plaidVerifier.verify(header: header("plaid-verification"), body: hook.body, now: clock.now)
                outcomes.append(try await engine.handleWebhook(provider: .plaid, body: hook.body))
            case .teller:
                try tellerVerifier.verify(header: header("teller-signature"), body: hook.body, now: clock.now)
                outcomes.append(try await engine.handleWebhook(provider: .teller, body: hook.body))
            case .gocardless:
                continue
            }
        }
        return outcomes
    }

    /// A user of a fresh tenant.
    func user(_ external: String = "user-1") async throws -> User {
        let tenant = try await store.tenants.create(name: "Tenant \(external)", now: clock.now)
        let user = User(tenantID: tenant.id, externalID: external, createdAt: clock.now)
        try await store.users.insert(user)
        return user
    }

    /// Links one sandbox bank per provider the way each provider's front end would, through the
    /// engine; a transient failure (a short test timeout on a loaded machine) is tried again, as
    /// an app would.
    func link(_ provider: Provider, user: User) async throws -> Connection {
        var attempt = 0
        while true {
            do {
                return try await linkOnce(provider, user: user)
            } catch let error as ProviderError where error.isRetryable && attempt < 5 {
                attempt += 1
            }
        }
    }

    private func linkOnce(_ provider: Provider, user: User) async throws -> Connection {
        switch provider {
        case .plaid:
            let token = try await plaid.sandboxPublicToken(institutionID: "ins_109508")
            return try await engine.link(userID: user.id, provider: .plaid, completion: .publicToken(token), institutionID: "ins_109508").0
        case .teller:
            let created = await world.control(SandboxRequest(method: "POST", path: "/connections", body: Array(#"{"provider": "teller"}"#.utf8)))
            let json = try JSONValue.parse(created.body)
            let completion = LinkCompletion.enrollment(accessToken: try #require(json["access_token"]?.stringValue), enrollmentID: try #require(json["id"]?.stringValue))
            return try await engine.link(userID: user.id, provider: .teller, completion: completion).0
        case .gocardless:
            let session = try await gocardless.createLink(LinkRequest(userID: user.externalID, institutionID: "REVOLUT_REVOGB21", redirectURL: "https://app.example/back"))
            _ = await world.completeGoCardlessConsent(requisition: session.token)
            return try await engine.link(userID: user.id, provider: .gocardless, completion: .requisition(id: session.token), institutionID: "REVOLUT_REVOGB21").0
        }
    }

    /// ``expectStoreEqualsSandbox(_:_:_:_:balances:sourceLocation:)`` for this harness.
    func expectConverged(_ connection: Connection, _ when: String, balances: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await expectStoreEqualsSandbox(store, world, connection, when, balances: balances, sourceLocation: sourceLocation)
    }
}

/// Fails unless the store holds exactly the sandbox's live rows and balances for the
/// connection: posted rows by id, pending rows by (amount, date) — GoCardless pending rows
/// have no ids — and no duplicates.
func expectStoreEqualsSandbox(
    _ store: Store, _ world: SandboxWorld, _ connection: Connection, _ when: String, balances: Bool = true, sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    let accounts = try await store.accounts.list(connectionID: connection.id)
    // The sandbox keys a GoCardless bank by its own connection id, not the requisition's.
    let sandboxConnection = await world.account(accounts.first?.providerAccountID ?? "")?.connectionID ?? connection.providerConnectionID
    let truthAccounts = await world.accounts(ofConnection: sandboxConnection)
    var canonical: [String] = []
    for account in accounts { canonical.append(await world.canonicalAccountID(account.providerAccountID)) }
    #expect(Set(canonical) == Set(truthAccounts.map(\.id)), "\(when): accounts", sourceLocation: sourceLocation)
    let rows = try await store.transactions.list(userID: connection.userID, limit: 1_000_000)
    for account in accounts {
        let truth = await world.currentTransactions(ofAccount: account.providerAccountID)
        let have = rows.filter { $0.accountID == account.id }
        let posted = have.filter { $0.status == .posted }
        #expect(Set(posted.map(\.providerTransactionID)).count == posted.count, "\(when): duplicate posted rows in \(account.name)", sourceLocation: sourceLocation)
        let pendingIDsKnown = connection.provider != .gocardless
        if pendingIDsKnown {
            #expect(
                Dictionary(uniqueKeysWithValues: have.map { ($0.providerTransactionID, $0.amount.minorUnits) })
                    == Dictionary(uniqueKeysWithValues: truth.map { ($0.id, $0.amount) }), "\(when): rows of \(account.name)", sourceLocation: sourceLocation)
            #expect(Set(have.filter { $0.status == .pending }.map(\.providerTransactionID)) == Set(truth.filter(\.pending).map(\.id)),
                "\(when): pending rows of \(account.name)", sourceLocation: sourceLocation)
        } else {
            #expect(Set(posted.map(\.providerTransactionID)) == Set(truth.filter { !$0.pending }.map(\.id)), "\(when): posted rows of \(account.name)", sourceLocation: sourceLocation)
            #expect(
                have.filter { $0.status == .pending }.map { "\($0.amount.minorUnits)@\($0.date)" }.sorted()
                    == truth.filter(\.pending).map { "\($0.amount)@\($0.date)" }.sorted(), "\(when): pending rows of \(account.name)", sourceLocation: sourceLocation)
        }
        guard balances else { continue }
        let balance = try await store.accounts.balance(accountID: account.id)
        #expect(balance?.current.minorUnits == (await world.balances(ofAccount: account.providerAccountID)).current,
            "\(when): balance of \(account.name)", sourceLocation: sourceLocation)
        let ledger = try await store.accounts.ledgerState(account.id)
        #expect(ledger?.issue == nil, "\(when): ledger check of \(account.name): \(ledger?.issue ?? "")", sourceLocation: sourceLocation)
    }
}

struct DrainTimedOut: Error, CustomStringConvertible {
    let pending: [String]
    var description: String { "the queue did not drain; still pending: \(pending.joined(separator: ", "))" }
}
