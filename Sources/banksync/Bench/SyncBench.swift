import ArgumentParser
import AsyncHTTPClient
import BankSyncCore
import BankSyncEngine
import BankSyncJobs
import BankSyncProviders
import BankSyncStore
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PostgresNIO
import SQLKit
import ServiceLifecycle
import Synchronization

/// `banksync bench sync`: the initial sync of many sandbox connections through the whole
/// pipeline (setup → discovery → balances → transactions → reconcile → store, as queued jobs
/// with their workers), then an incremental sync of the same connections a day later; and in
/// the same run the engine's raw bulk-insert rate for as many rows.
///
/// The sandbox runs as a child process (`banksync sandbox`), as a provider would be elsewhere,
/// so this process's peak RSS is the engine's alone.
struct SyncBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Initial and incremental sync of N sandbox connections through the full pipeline, vs the raw bulk-insert rate.",
        discussion: """
            PostgreSQL runs when --postgres-url or BANKSYNC_TEST_POSTGRES_URL is set (it creates and drops its own database). \
            Provider rate limits are lifted for the sandbox: the figure is the engine's, not a provider's quota.
            """)

    @Option(help: "Connections, spread over Plaid, Teller and GoCardless.") var connections = 1_000
    @Option(help: "Days of history each sandbox connection comes with (and the initial sync fetches); 450 gives about 1,000 rows a connection.")
    var historyDays = 450
    @Option(help: "Jobs each worker runs at once.") var concurrency = 24
    @Option(help: "PostgreSQL URL (default: BANKSYNC_TEST_POSTGRES_URL).") var postgresURL: String?
    @Flag(help: "Skip SQLite.") var skipSqlite = false
    @Flag(help: "Skip the raw bulk-insert baseline.") var skipRaw = false
    @Option(help: "Providers to link, comma-separated.") var providers = "plaid,teller,gocardless"

    func validate() throws {
        guard connections > 0 else { throw ValidationError("--connections must be positive") }
        guard (1...730).contains(historyDays) else { throw ValidationError("--history-days must be between 1 and 730") }
        for name in providers.split(separator: ",") where Provider(rawValue: String(name)) == nil {
            throw ValidationError("--providers: unknown provider \(name) (plaid, teller, gocardless)")
        }
    }

    func run() async throws {
        var logger = Logger(label: "banksync.bench")
        logger.logLevel = .error
        var lines: [String] = []
        if !skipSqlite {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("banksync-syncbench-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            lines += try await measure(engine: "sqlite", url: .sqlite(path: directory.appendingPathComponent("sync.sqlite").path), logger: logger)
        }
        if let text = postgresURL ?? ProcessInfo.processInfo.environment["BANKSYNC_TEST_POSTGRES_URL"] {
            guard case .postgres(var location) = try DatabaseURL(parsing: text) else { throw Bootstrap.fail("--postgres-url must be a postgres:// URL") }
            let name = "banksync_syncbench_\(UUID().uuidString.prefix(8).lowercased())"
            try await Self.admin(location, "CREATE DATABASE \(name)", logger: logger)
            let server = location
            location.database = name
            do {
                lines += try await measure(engine: "postgres", url: .postgres(location), logger: logger)
            } catch {
                try? await Self.admin(server, "DROP DATABASE \(name) WITH (FORCE)", logger: logger)
                throw error
            }
            try await Self.admin(server, "DROP DATABASE \(name) WITH (FORCE)", logger: logger)
        } else {
            print("postgres: skipped (set --postgres-url or BANKSYNC_TEST_POSTGRES_URL)")
        }
        print("| engine | phase | connections | transactions | wall s | transactions/s | × raw | peak RSS MB (process, so far) |")
        print("|---|---|---|---|---|---|---|---|")
        for line in lines { print(line) }
    }

    // MARK: One engine

    func measure(engine: String, url: DatabaseURL, logger: Logger) async throws -> [String] {
        let sandbox = try SandboxProcess.start(historyDays: historyDays)
        defer { sandbox.stop() }
        try await sandbox.waitUntilReady()
        let http = HTTPClient.shared
        let offset = try await sandbox.clock(http).timeIntervalSince(Date())
        let clock = OffsetClock(offset: offset)
        var lines: [String] = []
        var cpuNotes: [String] = []
        try await Database.withDatabase(url, logger: logger) { database in
            try await Migrator(database: database, logger: logger).migrate()
            let store = Store(database: database, keyring: try Keyring(parsing: "bench:\(Keyring.generateKeyBase64())", activeKeyID: nil))
            let queue = JobQueue(database: database, logger: logger, now: clock.now)
            let limits = DatabaseProviderLimits(store: store, logger: logger, now: clock.now)
            try await limits.configure(.init(plaid: 1e9, teller: 1e9, gocardless: 1e9))
            let base = sandbox.baseURL
            let plaid = PlaidClient(
                configuration: .init(baseURL: base + "/plaid", clientID: "sandbox-client-id", secret: "sandbox-secret"), client: http, logger: logger,
                limits: limits, now: clock.now)
            let teller = TellerClient(configuration: .init(baseURL: base + "/teller"), client: http, logger: logger, limits: limits, now: clock.now)
            let gocardless = GoCardlessClient(
                configuration: .init(baseURL: base + "/gocardless", secretID: "sandbox-secret-id", secretKey: "sandbox-secret-key"), client: http,
                logger: logger, limits: limits, now: clock.now)
            var engineConfiguration = SyncEngine.Configuration()
            engineConfiguration.initialSyncDays = historyDays  // fetch everything the sandbox has
            let syncEngine = SyncEngine(store: store, queue: queue, providers: [plaid, teller, gocardless], configuration: engineConfiguration, logger: logger)

            // Link every connection (not timed): the app's part, one per user.
            let tenant = try await store.tenants.create(name: "bench", now: clock.now())
            let kinds = providers.split(separator: ",").compactMap { Provider(rawValue: String($0)) }
            var linked: [Connection] = []
            for index in 0..<connections {
                let user = User(tenantID: tenant.id, externalID: "bench-\(index)", createdAt: clock.now())
                try await store.users.insert(user)
                let provider = kinds[index % kinds.count]
                let completion: LinkCompletion
                switch provider {
                case .plaid: completion = .publicToken(try await plaid.sandboxPublicToken(institutionID: "ins_109508"))
                case .teller:
                    let created = try await sandbox.control(http, "POST", "/connections", body: #"{"provider": "teller"}"#)
                    completion = .enrollment(accessToken: created["access_token"]?.stringValue ?? "", enrollmentID: created["id"]?.stringValue ?? "")
                case .gocardless:
                    let created = try await sandbox.control(http, "POST", "/connections", body: #"{"provider": "gocardless"}"#)
                    completion = .requisition(id: created["requisition_id"]?.stringValue ?? "")
                }
                linked.append(try await syncEngine.link(userID: user.id, provider: provider, completion: completion).0)
            }

            var registry = JobRegistry()
            syncEngine.register(into: &registry)
            let worker = JobWorker(
                queue: queue, registry: registry,
                configuration: .init(concurrency: concurrency, leaseDuration: .seconds(60), pollInterval: .milliseconds(50)), logger: logger)
            let group = ServiceGroup(configuration: .init(services: [.init(service: worker)], gracefulShutdownSignals: [], logger: logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                defer { Task { await group.triggerGracefulShutdown() } }

                // Initial sync: every setup job is queued; the clock starts when the workers do.
                let (ownBefore, sandboxBefore) = (Self.ownCPUSeconds(), sandbox.cpuSeconds())
                let initialSeconds = try await Self.time { try await queue.waitUntilIdle(timeout: .seconds(3_600), interval: .milliseconds(100), quietChecks: 2) }
                let (ownDuring, sandboxDuring) = (Self.ownCPUSeconds() - ownBefore, sandbox.cpuSeconds() - sandboxBefore)
                let initialRows = try await Self.count(database)
                let failures = try await Self.failed(database)
                if failures > 0 { print("\(engine): \(failures) jobs failed during the initial sync (see the jobs table)") }
                // The peak before the baseline, which builds its bulk-load input in this process.
                let peak = Self.peakRSSMegabytes()
                var raw: Double?
                if !skipRaw { raw = try await UpsertBench.rawRate(rows: initialRows, url: url, logger: logger) }
                lines.append(Self.line(engine, "initial sync", linked.count, initialRows, initialSeconds, raw, peak: peak))
                cpuNotes.append(
                    "\(engine): CPU during the initial sync — BankSync \(String(format: "%.1f", ownDuring)) s, "
                        + "sandbox \(String(format: "%.1f", sandboxDuring)) s (both on the same cores; linking before it and the "
                        + "raw baseline after it not included)")

                // A day later: one sync of every connection.
                _ = try await sandbox.control(http, "POST", "/clock/advance", body: #"{"days": 1}"#)
                clock.set(offset: try await sandbox.clock(http).timeIntervalSince(Date()))
                // Counted before the first request: the workers start on them at once, and a count
                // taken after the requests missed the rows of the syncs that had already run.
                let changedBefore = try await Self.changed(database)
                let incrementalSeconds = try await Self.time {
                    for connection in linked { try await syncEngine.requestSync(connection.id, days: 10) }
                    try await queue.waitUntilIdle(timeout: .seconds(3_600), interval: .milliseconds(100), quietChecks: 2)
                }
                let changed = try await Self.changed(database) - changedBefore
                lines.append(Self.line(engine, "incremental sync (1 day later)", linked.count, changed, incrementalSeconds, nil, peak: Self.peakRSSMegabytes()))
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
        for note in cpuNotes { print(note) }
        return lines
    }

    static func line(_ engine: String, _ phase: String, _ connections: Int, _ rows: Int, _ seconds: Double, _ raw: Double?, peak: Int) -> String {
        let rate = Double(rows) / seconds
        let ratio = raw.map { String(format: "%.2f", rate / $0) } ?? "-"
        return "| \(engine) | \(phase) | \(connections) | \(rows) | \(String(format: "%.1f", seconds)) | \(Int(rate)) | \(ratio) | \(peak) |"
    }

    static func count(_ database: Database) async throws -> Int {
        try await database.withSession { db in
            try await db.raw("SELECT COUNT(*) AS n FROM transactions").first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// Rows written or rewritten so far (inserts, updates, removals), by their update stamps.
    static func changed(_ database: Database) async throws -> Int {
        try await database.withSession { db in
            try await db.raw("SELECT COUNT(*) AS n FROM transactions WHERE updated_at > created_at OR removed_at IS NOT NULL").first()?
                .decode(column: "n", as: Int.self) ?? 0
        } + (try await count(database))
    }

    static func failed(_ database: Database) async throws -> Int {
        try await database.withSession { db in
            try await db.raw("SELECT COUNT(*) AS n FROM jobs WHERE state = 'discarded'").first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    static func time(_ body: () async throws -> Void) async throws -> Double {
        let start = ContinuousClock.now
        try await body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// CPU seconds (user + system) this process has used so far.
    static func ownCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// This process's peak resident set (VmHWM), in MB.
    static func peakRSSMegabytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return -1 }
        return kilobytes / 1024
    }

    static func admin(_ location: DatabaseURL.PostgresLocation, _ sql: String, logger: Logger) async throws {
        let connection = try await PostgresConnection.connect(
            configuration: .init(host: location.host, port: location.port, username: location.username, password: location.password, database: location.database, tls: .disable),
            id: 1, logger: logger)
        do {
            _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }
}

/// `banksync sandbox` in a child process on a free port.
struct SandboxProcess {
    let process: Process
    let port: Int
    var baseURL: String { "http://127.0.0.1:\(port)" }

    static func start(historyDays: Int) throws -> SandboxProcess {
        let port = Int.random(in: 20_000...40_000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        process.arguments = ["sandbox", "--port", "\(port)", "--history-days", "\(historyDays)", "--gocardless-daily-limit", "1000"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return SandboxProcess(process: process, port: port)
    }

    func waitUntilReady() async throws {
        for _ in 0..<200 {
            if let _ = try? await clock(HTTPClient.shared) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Bootstrap.fail("the sandbox child process did not start on port \(port)")
    }

    /// CPU seconds (user + system) the sandbox has used so far, from /proc.
    func cpuSeconds() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return -1 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime 14 and stime 15 (1-based) → 11 and 12 here.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return -1 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    func control(_ http: HTTPClient, _ method: String, _ path: String, body: String? = nil) async throws -> JSONValue {
        var request = HTTPClientRequest(url: baseURL + "/sandbox" + path)
        request.method = .init(rawValue: method)
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return try JSONValue.parse(Array(bytes.readableBytesView))
    }

    func clock(_ http: HTTPClient) async throws -> Date {
        let json = try await control(http, "GET", "/clock")
        guard let text = json["now"]?.stringValue, let date = ISO8601DateFormatter().date(from: text) else {
            throw Bootstrap.fail("the sandbox's clock is unreadable")
        }
        return date
    }
}
