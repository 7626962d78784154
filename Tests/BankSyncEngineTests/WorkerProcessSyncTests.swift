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
import Testing

@Suite("Sync in real worker processes: SIGKILL mid-sync, and two processes on one database")
struct WorkerProcessSyncTests {
    /// Runs `banksync worker` against `database` and the sandbox at `sandbox`.
    static func startWorker(database: Database, keys: String, sandbox: String) throws -> Process {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("banksync")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else { throw WorkerMissing(path: binary.path) }
        let child = Process()
        child.executableURL = binary
        child.arguments = ["worker", "--concurrency", "4", "--lease-seconds", "2", "--poll-interval-ms", "100"]
        var environment = ProcessInfo.processInfo.environment
        environment["BANKSYNC_DATABASE_URL"] = url(of: database)
        environment["BANKSYNC_ENCRYPTION_KEYS"] = keys
        environment["BANKSYNC_SANDBOX_URL"] = sandbox
        environment["BANKSYNC_LOG_LEVEL"] = "error"
        child.environment = environment
        child.standardOutput = FileHandle.nullDevice
        try child.run()
        return child
    }

    struct WorkerMissing: Error, CustomStringConvertible {
        let path: String
        var description: String { "banksync executable not found at \(path): build it with `swift build --build-tests`" }
    }

    static func url(of database: Database) -> String {
        switch database.url {
        case .sqlite(let path): return "sqlite://\(path)"
        case .sqliteMemory: return "sqlite::memory:"
        case .postgres(let l):
            return "postgres://\(l.username)\(l.password.map { ":\($0)" } ?? "")@\(l.host):\(l.port)/\(l.database)?sslmode=disable"
        }
    }

    /// Jobs not finished yet (any state but completed/discarded/cancelled).
    static func unfinished(_ store: Store) async throws -> [String] {
        try await store.database.withSession { db in
            try await db.raw("SELECT name, state FROM jobs WHERE state NOT IN ('completed', 'discarded', 'cancelled') ORDER BY name").all()
                .map { "\(try $0.decode(column: "name", as: String.self)):\(try $0.decode(column: "state", as: String.self))" }
        }
    }

    /// Kills a worker with SIGKILL while it runs a sync job, `times` times.
    static func killMidSync(_ store: Store, keys: String, sandbox: String, times: Int) async throws -> Int {
        var kills = 0
        for _ in 0..<times {
            let child = try startWorker(database: store.database, keys: keys, sandbox: sandbox)
            defer { if child.isRunning { kill(child.processIdentifier, SIGKILL) } }
            let deadline = ContinuousClock.now + .seconds(30)
            var caught = false
            while ContinuousClock.now < deadline && !caught {
                let running = try await store.database.withSession { db in
                    try await db.raw("SELECT name FROM jobs WHERE state = 'running' AND leased_by LIKE \(bind: "%:\(child.processIdentifier):%")").all()
                        .map { try $0.decode(column: "name", as: String.self) }
                }
                if running.contains(where: { ["initial-sync", "sync-transactions", "sync-bank", "account-discovery"].contains($0) }) {
                    try await Task.sleep(for: .milliseconds(Int64.random(in: 50...400)))
                    caught = true
                } else if try await unfinished(store).isEmpty {
                    break  // nothing left to interrupt
                } else {
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            if caught { kills += 1 }
        }
        return kills
    }

    /// Runs `count` workers until every job has finished, then stops them with SIGTERM.
    static func workUntilDone(_ store: Store, keys: String, sandbox: String, workers count: Int) async throws {
        let children = try (0..<count).map { _ in try startWorker(database: store.database, keys: keys, sandbox: sandbox) }
        defer { for child in children where child.isRunning { kill(child.processIdentifier, SIGKILL) } }
        let deadline = ContinuousClock.now + .seconds(120)
        var quiet = 0
        while quiet < 3 {
            guard ContinuousClock.now < deadline else { throw DrainTimedOut(pending: try await unfinished(store)) }
            // Jobs waiting for a later time (a schedule, a recovery) do not count as work left.
            let due = try await store.database.withSession { db in
                try await db.raw(
                    """
                    SELECT COUNT(*) AS n FROM jobs WHERE state = 'running'
                        OR (state IN ('available', 'retryable') AND scheduled_at <= \(bind: Int64(Date().timeIntervalSince1970 * 1000)))
                    """
                ).first()?.decode(column: "n", as: Int.self) ?? 0
            }
            quiet = due == 0 ? quiet + 1 : 0
            try await Task.sleep(for: .milliseconds(200))
        }
        for child in children {
            kill(child.processIdentifier, SIGTERM)
            child.waitUntilExit()
            #expect(child.terminationStatus == 0, "a worker did not stop cleanly on SIGTERM")
        }
    }

    @Test("workers killed with SIGKILL in the middle of syncs, several times, then one or two workers: the store equals the banks", arguments: TestEngine.available)
    func killedAndShared(engine: TestEngine) async throws {
        let keys = "test:\(Keyring.generateKeyBase64())"
        try await withTestStore(engine, keyring: try Keyring(parsing: keys, activeKeyID: nil)) { store, _ in
            var logger = Logger(label: "process-test")
            logger.logLevel = .critical
            // The sandbox starts three days back so that, once advanced, its clock is the real one
            // the worker processes read.
            let world = SandboxWorld(configuration: .init(seed: 31, start: Date().addingTimeInterval(-3 * 86_400), historyDays: 60))
            try await SandboxServer(world: world, logger: logger).withRunning(deliverWebhooks: false) { base in
                // Link in this process (as the API would); the work runs in the children.
                let http = HTTPClient(eventLoopGroupProvider: .singleton)
                let queue = JobQueue(database: store.database, logger: logger)
                let sandbox = BankSyncProvidersForTests(base: base, http: http, logger: logger)
                let engineHere = SyncEngine(store: store, queue: queue, providers: sandbox.all, logger: logger)
                let tenant = try await store.tenants.create(name: "T", now: Date())
                let user = User(tenantID: tenant.id, externalID: "u", createdAt: Date())
                try await store.users.insert(user)
                var connections: [Connection] = []
                connections.append(try await engineHere.link(
                    userID: user.id, provider: .plaid, completion: .publicToken(try await sandbox.plaid.sandboxPublicToken(institutionID: "ins_109508"))).0)
                let created = try JSONValue.parse(await world.control(SandboxRequest(method: "POST", path: "/connections", body: Array(#"{"provider": "teller"}"#.utf8))).body)
                connections.append(try await engineHere.link(
                    userID: user.id, provider: .teller,
                    completion: .enrollment(accessToken: try #require(created["access_token"]?.stringValue), enrollmentID: try #require(created["id"]?.stringValue))).0)
                let session = try await sandbox.gocardless.createLink(LinkRequest(userID: "u", institutionID: "REVOLUT_REVOGB21"))
                _ = await world.completeGoCardlessConsent(requisition: session.token)
                connections.append(try await engineHere.link(userID: user.id, provider: .gocardless, completion: .requisition(id: session.token)).0)
                try await http.shutdown()

                // Slow answers make the syncs long enough to be killed in the middle.
                await world.setFaults(SandboxProvider.allCases.map { FaultRule(provider: $0, endpoint: "*", kind: .slow, rate: 0.5, delayMilliseconds: 150) })
                let firstKills = try await Self.killMidSync(store, keys: keys, sandbox: base, times: 3)
                try await Self.workUntilDone(store, keys: keys, sandbox: base, workers: engine == .postgres ? 2 : 1)
                for connection in connections { try await expectStoreEqualsSandbox(store, world, connection, "\(connection.provider) after the initial syncs") }

                // Three days pass at the banks; a sync of every connection, killed again, then finished by two workers.
                _ = await world.advance(seconds: 3 * 86_400)
                for connection in connections { try await engineHere.requestSync(connection.id, days: 10) }
                let secondKills = try await Self.killMidSync(store, keys: keys, sandbox: base, times: 3)
                try await Self.workUntilDone(store, keys: keys, sandbox: base, workers: engine == .postgres ? 2 : 1)
                for connection in connections {
                    #expect(try await store.connections.get(connection.id)?.status == .connected, "\(connection.provider)")
                    try await expectStoreEqualsSandbox(store, world, connection, "\(connection.provider) after three days")
                }
                #expect(firstKills + secondKills >= 2, "workers were killed mid-sync (\(firstKills) + \(secondKills) times)")
                // Killed jobs were rescued and counted, not lost.
                let rescued = try await store.database.withSession { db in
                    try await db.raw("SELECT COUNT(*) AS n FROM jobs WHERE errors LIKE '%lease expired%'").first()?.decode(column: "n", as: Int.self) ?? 0
                }
                #expect(rescued >= 1)
            }
        }
    }
}

/// The three clients against a sandbox, for linking from a test.
struct BankSyncProvidersForTests {
    let plaid: PlaidClient
    let teller: TellerClient
    let gocardless: GoCardlessClient

    init(base: String, http: HTTPClient, logger: Logger) {
        plaid = PlaidClient(configuration: .init(baseURL: base + "/plaid", clientID: "sandbox-client-id", secret: "sandbox-secret"), client: http, logger: logger)
        teller = TellerClient(configuration: .init(baseURL: base + "/teller"), client: http, logger: logger)
        gocardless = GoCardlessClient(
            configuration: .init(baseURL: base + "/gocardless", secretID: "sandbox-secret-id", secretKey: "sandbox-secret-key"), client: http, logger: logger)
    }

    var all: [any BankingProvider] { [plaid, teller, gocardless] }
}

@Suite("banksync demo")
struct DemoCommandTests {
    @Test("the demo links one bank per provider, syncs, simulates a day and reports every account equal to its bank")
    func demo() async throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("banksync")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("banksync-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let child = Process()
        child.executableURL = binary
        child.arguments = ["demo", "--exit", "--port", "0", "--days", "1", "--database", directory.appendingPathComponent("demo.sqlite").path]
        let output = Pipe()
        child.standardOutput = output
        child.standardError = FileHandle.nullDevice
        try child.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        child.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        #expect(child.terminationStatus == 0, "\(text)")
        for provider in ["plaid", "teller", "gocardless"] { #expect(text.contains("\(provider) · "), "\(provider) is linked") }
        #expect(text.components(separatedBy: "— connected;").count - 1 == 3, "\(text)")
        let accountLines = text.split(separator: "\n").filter { $0.contains("ledger check:") }
        #expect(accountLines.count >= 10)
        for line in accountLines {
            #expect(line.contains("ledger check: ok"), "\(line)")
            // "N transactions (M pending; the bank shows N)"
            if let range = line.range(of: #"(\d+) transactions \(\d+ pending; the bank shows (\d+)\)"#, options: .regularExpression) {
                let numbers = line[range].split(whereSeparator: { !$0.isNumber }).map(String.init)
                #expect(numbers.first == numbers.last, "\(line)")
            } else {
                Issue.record("no transaction count in \(line)")
            }
        }
        #expect(text.contains("accounts.added ×3") && text.contains("sync.completed ×3"))
    }
}
