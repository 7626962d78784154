import ArgumentParser
import AsyncHTTPClient
import BankSyncCore
import BankSyncEngine
import BankSyncJobs
import BankSyncProviders
import BankSyncSandbox
import BankSyncServer
import BankSyncStore
import Foundation
import Logging
import Metrics
import Prometheus
import NIOCore
import NIOHTTP1
import SQLKit
import ServiceLifecycle
import Synchronization
import UnixSignals

/// `banksync demo`: the whole product on one machine with no credentials. An embedded SQLite
/// database, the provider sandbox serving Plaid, Teller and GoCardless in-process, a demo
/// tenant and user, one connection per provider linked through the real link flows, the
/// initial syncs run by the job workers, then a few simulated days in which the scheduler and
/// the providers' (signed, verified) webhooks drive the syncs. It prints what is stored and
/// keeps serving until Ctrl-C.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run BankSync against its built-in sandbox banks: link, sync, simulate days, show the result.",
        discussion: "Starts from a fresh demo database each time (the file named by --database is replaced).")

    @Option(help: "The demo's SQLite file (replaced on each run).") var database = "./banksync-demo.sqlite"
    @Option(help: "Port for BankSync's HTTP server (0: any free port).") var port = 8080
    @Option(help: "Simulated days to run after the initial sync.") var days = 3
    @Option(help: "Seed of the sandbox's synthetic banks.") var seed: UInt64 = 42
    @Flag(help: "Exit after the simulation instead of serving until Ctrl-C.") var exit = false

    func validate() throws {
        guard (0...365).contains(days) else { throw ValidationError("--days must be between 0 and 365") }
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
    }

    func run() async throws {
        // Progress lines appear as they happen even when the output is a pipe or a file.
        LineBufferedOutput.enable()
        Bootstrap.bootstrapLogging(format: .logfmt, level: .warning)
        var logger = Logger(label: "banksync.demo")
        logger.logLevel = .warning
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        let url = DatabaseURL.sqlite(path: database)
        try await Bootstrap.reportingErrors {
            try await Database.withDatabase(url, logger: logger) { database in
                try await Migrator(database: database, logger: logger).migrate()
                try await EngineRuntime.configureLimits(.init(), database: database, logger: logger)
            }
        }
        let database = try await Bootstrap.reportingErrors { try await Database.open(url, logger: logger) }
        let store = Store(database: database, keyring: try Keyring(parsing: "demo:\(Keyring.generateKeyBase64())", activeKeyID: nil))

        // The sandbox starts `days` back, so that once the simulation has run its clock is now.
        let world = SandboxWorld(configuration: .init(seed: seed, start: Date().addingTimeInterval(-Double(days) * 86_400), historyDays: 90))
        let clock = OffsetClock(offset: -Double(days) * 86_400)
        let sandboxPort = Mutex<Int?>(nil)
        let serverPort = Mutex<Int?>(nil)
        let sandbox = SandboxServer(world: world, logger: logger).application(port: 0, deliverWebhooks: false) { bound in sandboxPort.withLock { $0 = bound } }
        let sandboxGroup = ServiceGroup(configuration: .init(services: [.init(service: sandbox)], logger: logger))
        let sandboxTask = Task { try await sandboxGroup.run() }
        defer { sandboxTask.cancel() }
        let sandboxBase = "http://127.0.0.1:\(try await Self.waitFor { sandboxPort.withLock { $0 } })"

        // BankSync itself, as `serve` runs it: workers, scheduler, maintenance, HTTP (health and
        // webhooks), on the demo's clock. Ctrl-C stops it in order, the database last.
        let queue = JobQueue(database: database, logger: logger, now: clock.now)
        let serverConfiguration = try await BankSyncConfiguration.load(
            environment: ["BANKSYNC_HTTP_PORT": "\(port)", "BANKSYNC_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "true"])
        let runtime = try EngineRuntime.make(
            configuration: .sandbox(baseURL: sandboxBase), store: store, queue: queue,
            engineConfiguration: try Bootstrap.engineConfiguration(serverConfiguration, logger: logger), logger: logger)
        var registry = JobRegistry()
        runtime.register(into: &registry)
        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
        let app = BankSyncApplication.make(configuration: serverConfiguration, store: store, runtime: runtime, metrics: metrics, logger: logger) { bound in
            serverPort.withLock { $0 = bound }
        }
        let services: [any Service] =
            [database, runtime.lifetime]
            + JobServices.make(
                queue: queue, registry: registry, schedules: try runtime.engine.schedules(), worker: .init(concurrency: 8, pollInterval: .milliseconds(100)),
                additionalWorkers: [EngineRuntime.webhookWorker(concurrency: 4, pollInterval: .milliseconds(100))], logger: logger) + [app]
        let group = ServiceGroup(
            configuration: .init(services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        let main = Task { try await group.run() }
        do {
            let base = "http://127.0.0.1:\(try await Self.waitFor { serverPort.withLock { $0 } })"
            await world.setTellerWebhookURL(base + "/webhooks/teller")
            let (key, userID) = try await simulate(store: store, runtime: runtime, world: world, clock: clock, base: base, sandboxBase: sandboxBase, logger: logger)
            if exit {
                await group.triggerGracefulShutdown()
            } else {
                print(
                    """
                    BankSync is serving at \(base)
                      dashboard:  \(base)/dashboard  (sign in with the API key \(key))
                      API:        curl -H 'Authorization: Bearer \(key)' '\(base)/v1/transactions?user_id=\(userID)&limit=5'
                      document:   \(base)/openapi.yaml · metrics: \(base)/metrics · health: \(base)/health/ready
                      sandbox:    \(sandboxBase)/sandbox/
                    Ctrl-C to stop.
                    """)
            }
        } catch {
            await group.triggerGracefulShutdown()
            _ = await main.result
            await sandboxGroup.triggerGracefulShutdown()
            throw error
        }
        try await main.value
        await sandboxGroup.triggerGracefulShutdown()
        _ = await sandboxTask.result
    }

    /// Links one bank per provider, runs the initial syncs, then `days` simulated days.
    func simulate(
        store: Store, runtime: EngineRuntime, world: SandboxWorld, clock: OffsetClock, base: String, sandboxBase: String, logger: Logger
    ) async throws -> (key: String, user: String) {
        let engine = runtime.engine
        let tenant = try await store.tenants.create(name: "Demo", now: clock.now())
        let (_, apiKey) = try await store.tenants.createAPIKey(tenantID: tenant.id, name: "demo", now: clock.now())
        let user = User(tenantID: tenant.id, externalID: "demo-user", email: "demo@example.com", createdAt: clock.now())
        try await store.users.insert(user)
        print("Demo tenant \(tenant.id), user \(user.id); API key \(apiKey)")
        // The app's webhook endpoint: the sandbox's inbox stands in for it.
        let (endpoint, webhookSecret) = try await engine.createWebhookEndpoint(
            tenantID: tenant.id, url: sandboxBase + "/sandbox/inbox", eventTypes: ["*"], description: "demo inbox")
        print("Outbound webhooks go to \(endpoint.url), signed with \(webhookSecret.prefix(10))… (docs/WEBHOOKS.md)")

        let http = HTTPClient.shared
        let clients = Dictionary(runtime.providers.map { ($0.provider, $0) }, uniquingKeysWith: { a, _ in a })
        var connections: [Connection] = []
        // Plaid: a public token as Link would hand the app, exchanged by the engine.
        if let plaid = clients[.plaid] as? PlaidClient {
            let token = try await Self.plaidPublicToken(plaid, webhook: base + "/webhooks/plaid", http: http)
            connections.append(try await engine.link(userID: user.id, provider: .plaid, completion: .publicToken(token), institutionID: "ins_109508", institutionName: "First Platypus Bank").0)
        }
        // Teller: the enrollment Teller Connect hands the app.
        let enrollment = try JSONValue.parse(await world.control(SandboxRequest(method: "POST", path: "/connections", body: Array(#"{"provider": "teller"}"#.utf8))).body)
        connections.append(try await engine.link(
            userID: user.id, provider: .teller,
            completion: .enrollment(accessToken: enrollment["access_token"]?.stringValue ?? "", enrollmentID: enrollment["id"]?.stringValue ?? ""),
            institutionName: "Teller sandbox bank").0)
        // GoCardless: a requisition the user consents to at the bank.
        if let gocardless = clients[.gocardless] {
            let session = try await gocardless.createLink(LinkRequest(userID: user.externalID, institutionID: "REVOLUT_REVOGB21", redirectURL: base + "/linked"))
            _ = await world.completeGoCardlessConsent(requisition: session.token)
            connections.append(try await engine.link(
                userID: user.id, provider: .gocardless, completion: .requisition(id: session.token), institutionID: "REVOLUT_REVOGB21", institutionName: "Revolut").0)
        }
        print("Linked \(connections.count) connections; initial sync…")
        try await engine.queue.waitUntilIdle(timeout: .seconds(120), interval: .milliseconds(100))

        for day in 0..<days {
            if day == 0, let teller = connections.first(where: { $0.provider == .teller }),
                let checking = try await store.accounts.list(connectionID: teller.id).first(where: { $0.subtype == "checking" })
            {
                // Something worth telling: a 7,500 purchase, which the day's syncs pick up.
                await world.injectTransaction(accountID: checking.providerAccountID, amount: -750_000, counterparty: "Demo jeweller")
                print("  (a 7,500.00 purchase appears at the Teller bank)")
            }
            // Minute by minute, so the sandbox's webhooks reach /webhooks/* while fresh.
            for _ in 0..<(24 * 60) {
                _ = await world.advance(seconds: 60)
                clock.set(offset: Double(await world.now) - Date().timeIntervalSince1970)
                for hook in await world.takeOutbox() {
                    var request = HTTPClientRequest(url: hook.url.replacingOccurrences(of: "{port}", with: base.split(separator: ":").last.map(String.init) ?? ""))
                    request.method = .POST
                    for (name, value) in hook.headers { request.headers.add(name: name, value: value) }
                    request.body = .bytes(ByteBuffer(bytes: hook.body))
                    _ = try? await http.execute(request, timeout: .seconds(5))
                }
            }
            try await JobScheduler(queue: engine.queue, schedules: try engine.schedules(), logger: logger).tick()
            try await engine.queue.waitUntilIdle(timeout: .seconds(120), interval: .milliseconds(100))
            print("Day \(day + 1) simulated (\(CalendarDate(clock.now())))")
        }
        try await Self.report(store: store, world: world, user: user, connections: connections)
        try await Self.reportWebhooks(store: store, world: world, endpoint: endpoint, secret: webhookSecret, now: clock.now())
        return (apiKey, user.id.rawValue)
    }

    /// Plaid's sandbox public token, with the webhook this server receives.
    static func plaidPublicToken(_ plaid: PlaidClient, webhook: String, http: HTTPClient) async throws -> String {
        let client = PlaidClient(
            configuration: .init(baseURL: plaid.configuration.baseURL, clientID: plaid.configuration.clientID, secret: plaid.configuration.secret, webhookURL: webhook),
            client: http, logger: Logger(label: "banksync.demo"))
        return try await client.sandboxPublicToken(institutionID: "ins_109508")
    }

    static func report(store: Store, world: SandboxWorld, user: User, connections: [Connection]) async throws {
        let rows = try await store.transactions.list(userID: user.id, limit: 1_000_000)
        print("")
        for connection in connections {
            guard let stored = try await store.connections.get(connection.id) else { continue }
            print("\(stored.provider.rawValue) · \(stored.institutionName ?? stored.institutionID ?? "") — \(stored.status.rawValue); \(stored.scheduleNote ?? "")")
            for account in try await store.accounts.list(connectionID: connection.id) {
                let balance = try await store.accounts.balance(accountID: account.id)
                let mine = rows.filter { $0.accountID == account.id }
                let truth = await world.currentTransactions(ofAccount: account.providerAccountID)
                let ledger = try await store.accounts.ledgerState(account.id)
                print(
                    "  \(account.name) ••\(account.mask ?? "----")  balance \(balance.map { "\($0.current)" } ?? "—")  "
                        + "\(mine.count) transactions (\(mine.filter { $0.status == .pending }.count) pending; the bank shows \(truth.count))  "
                        + "ledger check: \(ledger?.issue == nil ? "ok" : "MISMATCH")")
            }
        }
        let events = try await store.events.list(userID: user.id)
        print("\nEvents for the app: " + Dictionary(grouping: events, by: \.type).map { "\($0.key) ×\($0.value.count)" }.sorted().joined(separator: ", "))
        let live = rows.filter(\.isActive)
        let bySource = Dictionary(grouping: live, by: { $0.category?.source.rawValue ?? ($0.categorizedAt == nil ? "not yet" : "uncategorized") })
        print("Categories: " + bySource.map { "\($0.key) \($0.value.count)" }.sorted().joined(separator: ", "))
        print("Latest transactions:")
        for row in rows.prefix(8) {
            let category = row.category.map { "\($0.category) (\($0.source.rawValue) \(String(format: "%.2f", $0.confidence)))" } ?? "uncategorized"
            print("  \(row.date)  \(row.amount)  \(row.merchantName ?? row.description)\(row.status == .pending ? "  (pending)" : "")  → \(category)")
        }
        print("")
    }

    /// What reached the app's endpoint, and whether each signature verifies.
    static func reportWebhooks(store: Store, world: SandboxWorld, endpoint: WebhookEndpoint, secret: String, now: Date) async throws {
        let deliveries = try await store.webhooks.deliveries(endpointID: endpoint.id, limit: 100_000)
        let messages = await world.inbox
        let verified = messages.filter { message in
            (try? TimestampedSignature.verify(
                header: message.header("BankSync-Signature"), name: "BankSync-Signature", body: message.body, secrets: [Array(secret.utf8)], now: now,
                tolerance: 86_400 * 30)) != nil
        }
        let states = Dictionary(grouping: deliveries, by: \.state.rawValue).map { "\($0.key) \($0.value.count)" }.sorted().joined(separator: ", ")
        print("Webhooks: \(deliveries.count) deliveries (\(states)); the app's inbox received \(messages.count), \(verified.count) with a valid signature")
        if let large = messages.last(where: { $0.header("BankSync-Event-Type") == "transaction.large" }) {
            print("  e.g. transaction.large: \(String(decoding: large.body, as: UTF8.self).prefix(240))…")
        }
        print("")
    }

    static func waitFor(_ port: () -> Int?) async throws -> Int {
        for _ in 0..<400 {
            if let value = port() { return value }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw Bootstrap.fail("a server did not start listening within 10 seconds")
    }
}
