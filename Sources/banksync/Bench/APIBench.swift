import ArgumentParser
import BankSyncCore
import BankSyncJobs
import BankSyncServer
import BankSyncStore
import Foundation
import Hummingbird
import Logging
import SQLKit
import ServiceLifecycle
import Synchronization

/// `banksync bench api`: wrk against `GET /v1/transactions` (a user with 50k transactions, a
/// page of 100, the full stack: API key check, tenant scoping, keyset query, JSON) and, in the
/// same run on the same machine, against a Hummingbird hello-world route — requests/s and p99
/// for both, and the p99 ratio.
struct APIBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api", abstract: "wrk against GET /v1/transactions and a hello-world route, side by side.",
        discussion: "Needs wrk (apt-get install wrk). PostgreSQL runs too when --postgres-url or BANKSYNC_TEST_POSTGRES_URL is set.")

    @Option(help: "Transactions of the user.") var rows = 50_000
    @Option(help: "Seconds per wrk run.") var seconds = 10
    @Option(help: "wrk connections.") var connections = 16
    @Option(help: "wrk threads.") var threads = 2
    @Option(help: "PostgreSQL URL (default: BANKSYNC_TEST_POSTGRES_URL).") var postgresURL: String?
    @Flag(help: "Skip SQLite.") var skipSqlite = false
    @Flag(help: "Record no metrics (by default they go to a Prometheus registry, as in `serve`).")
    var withoutMetrics = false

    struct Measurement {
        var label: String
        var requestsPerSecond: Double
        var p50: Double
        var p99: Double
        var errors: String
    }

    func run() async throws {
        guard let wrk = UpsertBench.which("wrk") else { throw Bootstrap.fail("the API benchmark needs wrk (apt-get install wrk)") }
        var logger = Logger(label: "banksync.bench")
        logger.logLevel = .warning
        BenchMetrics.bootstrapUnless(withoutMetrics)
        let keyring = try Keyring(parsing: "bench:\(Keyring.generateKeyBase64())", activeKeyID: nil)
        var results: [Measurement] = []
        if !skipSqlite {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("banksync-apibench-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let url = DatabaseURL.sqlite(path: directory.appendingPathComponent("api.sqlite").path)
            results += try await measure(engine: "sqlite", url: url, wrk: wrk, keyring: keyring, logger: logger)
        }
        if let text = postgresURL ?? ProcessInfo.processInfo.environment["BANKSYNC_TEST_POSTGRES_URL"] {
            results += try await measure(engine: "postgres", url: try DatabaseURL(parsing: text), wrk: wrk, keyring: keyring, logger: logger)
        } else {
            print("postgres: skipped (set --postgres-url or BANKSYNC_TEST_POSTGRES_URL)")
        }
        print("| route | requests/s | p50 ms | p99 ms | errors |")
        print("|---|---|---|---|---|")
        for result in results {
            print("| \(result.label) | \(Int(result.requestsPerSecond)) | \(String(format: "%.2f", result.p50)) | \(String(format: "%.2f", result.p99)) | \(result.errors) |")
        }
        for pair in stride(from: 0, to: results.count - 1, by: 2) {
            let hello = results[pair]
            let api = results[pair + 1]
            print("\(api.label): p99 \(String(format: "%.2f", api.p99 / max(hello.p99, 0.001)))× hello-world's (goal ≤ 3×), throughput \(String(format: "%.2f", api.requestsPerSecond / max(hello.requestsPerSecond, 1)))×")
        }
    }

    func measure(engine: String, url: DatabaseURL, wrk: String, keyring: Keyring, logger: Logger) async throws -> [Measurement] {
        let database = try await Database.open(url, logger: logger)
        let databaseTask = Task { try await database.run() }
        defer { databaseTask.cancel() }
        let store = Store(database: database, keyring: keyring)
        let tag = "api-\(UUID().uuidString.prefix(8))"
        let data = try await UpsertBench.prepare(store: store, tag: tag, logger: logger)
        let now = Date()
        for start in stride(from: 0, to: rows, by: 5_000) {
            _ = try await store.transactions.upsert((start..<min(start + 5_000, rows)).map { data.transaction($0, now: now) })
        }
        // Statistics for the planner, as autovacuum (PostgreSQL) would gather them within a
        // minute of a bulk load: without them PostgreSQL expects one row for the user and
        // sorts all 50,000 instead of walking transactions_user_date (275-740 ms a page).
        try await database.withSession { try await $0.raw("ANALYZE transactions").run() }
        guard let tenant = try await store.users.get(data.userID)?.tenantID else { throw Bootstrap.fail("the benchmark's user is missing") }
        let key = try await store.tenants.createAPIKey(tenantID: tenant, name: "bench").secret
        let queue = JobQueue(database: database, logger: logger)
        let runtime = try EngineRuntime.make(configuration: .init(), store: store, queue: queue, logger: logger)

        let ports = Mutex<[String: Int]>([:])
        let api = Application(
            router: BankSyncApplication.makeRouter(store: store, runtime: runtime, logger: logger),
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "banksync"),
            onServerRunning: { channel in ports.withLock { $0["api"] = channel.localAddress?.port } }, logger: logger)
        let helloRouter = Router()
        helloRouter.get("/hello") { _, _ in "Hello, world!" }
        let hello = Application(
            router: helloRouter, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "hello"),
            onServerRunning: { channel in ports.withLock { $0["hello"] = channel.localAddress?.port } }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: api), .init(service: hello), .init(service: runtime.lifetime)], logger: logger))
        let serving = Task { try await group.run() }
        defer { serving.cancel() }
        for _ in 0..<500 where ports.withLock({ $0.count }) < 2 { try await Task.sleep(for: .milliseconds(10)) }
        guard let apiPort = ports.withLock({ $0["api"] }), let helloPort = ports.withLock({ $0["hello"] }) else { throw Bootstrap.fail("the servers did not start") }

        let helloURL = "http://127.0.0.1:\(helloPort)/hello"
        let apiURL = "http://127.0.0.1:\(apiPort)/v1/transactions?user_id=\(data.userID.rawValue)&limit=100"
        // Warm up both (connections, caches, the SQLite page cache).
        _ = try wrkRun(wrk, url: helloURL, key: nil, seconds: 2)
        _ = try wrkRun(wrk, url: apiURL, key: key, seconds: 2)
        let helloResult = try wrkRun(wrk, url: helloURL, key: nil, seconds: seconds)
        let apiResult = try wrkRun(wrk, url: apiURL, key: key, seconds: seconds)
        await group.triggerGracefulShutdown()
        _ = await serving.result
        try await UpsertBench.cleanUp(store: store, tag: tag)
        await database.close()
        return [
            Measurement(label: "\(engine): hello-world", requestsPerSecond: helloResult.0, p50: helloResult.1, p99: helloResult.2, errors: helloResult.3),
            Measurement(label: "\(engine): GET /v1/transactions (page of 100 of \(rows))", requestsPerSecond: apiResult.0, p50: apiResult.1, p99: apiResult.2, errors: apiResult.3),
        ]
    }

    /// Runs wrk; returns requests/s, p50 and p99 in ms, and its error line (or "none").
    func wrkRun(_ wrk: String, url: String, key: String?, seconds: Int) throws -> (Double, Double, Double, String) {
        var arguments = ["-t\(threads)", "-c\(connections)", "-d\(seconds)s", "--latency"]
        if let key { arguments += ["-H", "Authorization: Bearer \(key)"] }
        arguments.append(url)
        let output = try UpsertBench.runProcess(wrk, arguments)
        func latency(_ label: String) -> Double {
            guard let line = output.split(separator: "\n").first(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix(label) }) else { return .nan }
            let value = line.split(separator: " ", omittingEmptySubsequences: true).last.map(String.init) ?? ""
            if value.hasSuffix("us") { return (Double(value.dropLast(2)) ?? .nan) / 1_000 }
            if value.hasSuffix("ms") { return Double(value.dropLast(2)) ?? .nan }
            if value.hasSuffix("s") { return (Double(value.dropLast(1)) ?? .nan) * 1_000 }
            return .nan
        }
        let rate = output.split(separator: "\n").first { $0.hasPrefix("Requests/sec:") }.flatMap { Double($0.split(separator: " ").last ?? "") } ?? .nan
        let errors = output.split(separator: "\n").filter { $0.contains("Non-2xx") || $0.contains("Socket errors") }.joined(separator: "; ")
        return (rate, latency("50%"), latency("99%"), errors.isEmpty ? "none" : errors.trimmingCharacters(in: .whitespaces))
    }
}
