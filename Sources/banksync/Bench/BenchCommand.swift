import ArgumentParser
import BankSyncCore
import BankSyncStore
import Foundation
import Logging
import Metrics
import NIOCore
import PostgresNIO
import Prometheus
import SQLKit

/// `banksync bench`: performance scenarios measured side by side with their raw limits.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Run performance scenarios.", subcommands: [UpsertBench.self, QueueBench.self, SyncBench.self, CategorizeBench.self, APIBench.self])
}

/// Metrics as the long-running commands record them.
enum BenchMetrics {
    /// Sends metrics to a Prometheus registry, as `serve`, `worker` and `demo` do, so that a
    /// benchmark's figures include what recording them costs (a per-job or per-request counter
    /// made afresh is a locked registry lookup). Once per process.
    static func bootstrapUnless(_ disabled: Bool) {
        if !disabled { MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: PrometheusCollectorRegistry())) }
    }
}

/// Batch-upserts N transactions through the store, and in the same run loads the same rows with
/// the engine's raw bulk path (`sqlite3 .import`, PostgreSQL `COPY`), reporting medians and ratios.
struct UpsertBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upsert",
        abstract: "Batch upsert of transactions vs sqlite3 .import and COPY.",
        discussion: "PostgreSQL runs when --postgres-url or BANKSYNC_TEST_POSTGRES_URL is set; it writes and then deletes its own rows.")

    @Option(help: "Transactions per run.") var rows = 100_000
    @Option(help: "Runs per measurement; the median is reported.") var runs = 3
    @Option(help: "PostgreSQL URL (default: BANKSYNC_TEST_POSTGRES_URL).") var postgresURL: String?
    @Flag(help: "Skip SQLite.") var skipSqlite = false

    func run() async throws {
        var logger = Logger(label: "banksync.bench")
        logger.logLevel = .warning
        let keyring = try Keyring(parsing: "bench:\(Keyring.generateKeyBase64())", activeKeyID: nil)
        var results: [BenchResult] = []
        if !skipSqlite {
            results += try await sqlite(logger: logger, keyring: keyring)
        }
        if let url = postgresURL ?? ProcessInfo.processInfo.environment["BANKSYNC_TEST_POSTGRES_URL"] {
            results += try await postgres(url: try DatabaseURL(parsing: url), logger: logger, keyring: keyring)
        } else {
            print("postgres: skipped (set --postgres-url or BANKSYNC_TEST_POSTGRES_URL)")
        }
        print(BenchResult.table(results))
    }

    // MARK: SQLite

    func sqlite(logger: Logger, keyring: Keyring) async throws -> [BenchResult] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("banksync-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        guard let sqlite3 = Self.which("sqlite3") else {
            throw Bootstrap.fail("the SQLite baseline needs the sqlite3 command (apt-get install sqlite3)")
        }
        var upsertTimes: [Double] = []
        var updateTimes: [Double] = []
        var importTimes: [Double] = []
        for run in 0..<runs {
            let path = directory.appendingPathComponent("upsert-\(run).sqlite").path
            try await Database.withDatabase(.sqlite(path: path), logger: logger) { database in
                let store = Store(database: database, keyring: keyring)
                let data = try await Self.prepare(store: store, tag: "r\(run)", logger: logger)
                let all = (0..<rows).map { data.transaction($0, now: Date()) }
                upsertTimes.append(try await Self.time { try await store.transactions.upsert(all) })
                updateTimes.append(try await Self.time { try await store.transactions.upsert(all) })
            }
            importTimes.append(try await Self.sqliteImportSeconds(rows: rows, sqlite3: sqlite3, directory: directory, tag: "r\(run)", keyring: keyring, logger: logger))
        }
        return [
            BenchResult(engine: "sqlite", method: "store upsert (insert)", rows: rows, seconds: upsertTimes),
            BenchResult(engine: "sqlite", method: "store upsert (update)", rows: rows, seconds: updateTimes),
            BenchResult(engine: "sqlite", method: "sqlite3 .import (raw)", rows: rows, seconds: importTimes),
        ]
    }

    // MARK: PostgreSQL

    func postgres(url: DatabaseURL, logger: Logger, keyring: Keyring) async throws -> [BenchResult] {
        guard case .postgres(let location) = url else { throw Bootstrap.fail("--postgres-url must be a postgres:// URL") }
        var upsertTimes: [Double] = []
        var updateTimes: [Double] = []
        var copyTimes: [Double] = []
        try await Database.withDatabase(url, logger: logger) { database in
            let store = Store(database: database, keyring: keyring)
            try await store.migrator(logger: logger).migrate()
            for run in 0..<runs {
                let tag = "bench-\(UUID().uuidString.prefix(8))-\(run)"
                let data = try await Self.prepare(store: store, tag: tag, logger: logger)
                let all = (0..<rows).map { data.transaction($0, now: Date()) }
                upsertTimes.append(try await Self.time { try await store.transactions.upsert(all) })
                updateTimes.append(try await Self.time { try await store.transactions.upsert(all) })
                try await Self.cleanUp(store: store, tag: tag)

                copyTimes.append(try await Self.postgresCopySeconds(rows: rows, store: store, location: location, tag: tag + "c", logger: logger))
            }
        }
        return [
            BenchResult(engine: "postgres", method: "store upsert (insert)", rows: rows, seconds: upsertTimes),
            BenchResult(engine: "postgres", method: "store upsert (update)", rows: rows, seconds: updateTimes),
            BenchResult(engine: "postgres", method: "COPY (raw)", rows: rows, seconds: copyTimes),
        ]
    }

    // MARK: Raw baselines

    /// Seconds `sqlite3 .import` takes to load `rows` synthetic transactions into a fresh file.
    static func sqliteImportSeconds(rows: Int, sqlite3: String, directory: URL, tag: String, keyring: Keyring, logger: Logger) async throws -> Double {
        let rawPath = directory.appendingPathComponent("import-\(tag).sqlite").path
        let csv = directory.appendingPathComponent("rows-\(tag).csv")
        try await Database.withDatabase(.sqlite(path: rawPath), logger: logger) { database in
            let store = Store(database: database, keyring: keyring)
            let data = try await Self.prepare(store: store, tag: tag, logger: logger)
            // `.import` fills the table's columns in their order: place the encoded values by
            // name, empty for a column the encoder does not write.
            let tableColumns = try await database.withSession { db in
                try await db.raw("SELECT name FROM pragma_table_info('transactions') ORDER BY cid").all().map { try $0.decode(column: "name", as: String.self) }
            }
            let position = Dictionary(uniqueKeysWithValues: TransactionRepository.columns.enumerated().map { ($1, $0) })
            let order = tableColumns.map { position[$0] }
            var text = ""
            text.reserveCapacity(rows * 300)
            for i in 0..<rows {
                let values = TransactionRepository.encode(data.transaction(i, now: Date())).map { Self.csvField(Self.text($0)) }
                text += order.map { $0.map { values[$0] } ?? "" }.joined(separator: ",")
                text += "\n"
            }
            try text.write(to: csv, atomically: false, encoding: .utf8)
        }
        defer {
            try? FileManager.default.removeItem(atPath: rawPath)
            try? FileManager.default.removeItem(at: csv)
        }
        return try await Self.time { try Self.runProcess(sqlite3, [rawPath, ".import --csv \(csv.path) transactions"]) }
    }

    /// Seconds PostgreSQL `COPY` takes to load `rows` synthetic transactions (removed afterwards).
    static func postgresCopySeconds(rows: Int, store: Store, location: DatabaseURL.PostgresLocation, tag: String, logger: Logger) async throws -> Double {
        let data = try await Self.prepare(store: store, tag: tag, logger: logger)
        var buffer = ByteBuffer()
        for start in stride(from: 0, to: rows, by: 10_000) {
            buffer.writeBytes(TransactionRepository.copyText((start..<min(start + 10_000, rows)).map { data.transaction($0, now: Date()) }))
        }
        let connection = try await PostgresConnection.connect(
            configuration: .init(
                host: location.host, port: location.port, username: location.username, password: location.password, database: location.database,
                tls: .disable),
            id: 1, logger: logger)
        let seconds = try await Self.time {
            try await connection.copyFrom(table: "transactions", columns: TransactionRepository.columns, logger: logger) { writer in
                try await writer.write(buffer)
            }
        }
        try await connection.close()
        try await Self.cleanUp(store: store, tag: tag)
        return seconds
    }

    /// The raw bulk-insert rate (rows/s) of `rows` on the engine of `url`, for other benches' ratios.
    static func rawRate(rows: Int, url: DatabaseURL, logger: Logger) async throws -> Double {
        let keyring = try Keyring(parsing: "bench:\(Keyring.generateKeyBase64())", activeKeyID: nil)
        switch url {
        case .postgres(let location):
            return try await Database.withDatabase(url, logger: logger) { database in
                Double(rows) / (try await postgresCopySeconds(rows: rows, store: Store(database: database, keyring: keyring), location: location, tag: "raw-\(UUID().uuidString.prefix(8))", logger: logger))
            }
        default:
            guard let sqlite3 = Self.which("sqlite3") else { throw Bootstrap.fail("the SQLite baseline needs the sqlite3 command (apt-get install sqlite3)") }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("banksync-raw-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            return Double(rows) / (try await sqliteImportSeconds(rows: rows, sqlite3: sqlite3, directory: directory, tag: "raw", keyring: keyring, logger: logger))
        }
    }

    // MARK: Helpers

    /// Migrates and creates the tenant, user, connection and ten accounts the rows hang off.
    static func prepare(store: Store, tag: String, logger: Logger) async throws -> SyntheticTransactions {
        try await store.migrator(logger: logger).migrate()
        let now = Date()
        let tenant = try await store.tenants.create(name: "bench \(tag)")
        let user = User(id: Identifier("\(tag)-user"), tenantID: tenant.id, externalID: "bench-\(tag)", createdAt: now)
        try await store.users.insert(user)
        let connection = Connection(
            id: Identifier("\(tag)-conn"), userID: user.id, provider: .plaid, providerConnectionID: "item-\(tag)", createdAt: now)
        try await store.connections.insert(connection, accessToken: "access-sandbox-bench")
        let accounts = (0..<10).map { i in
            Account(
                id: Identifier("\(tag)-acct-\(i)"), connectionID: connection.id, userID: user.id,
                providerAccountID: "acc-\(i)", name: "Account \(i)", type: .depository, currency: try! Currency(code: "USD"),
                createdAt: now)
        }
        try await store.accounts.upsert(accounts)
        return SyntheticTransactions(userID: user.id, accountIDs: accounts.map(\.id), tag: tag)
    }

    static func cleanUp(store: Store, tag: String) async throws {
        try await store.database.withSession { db in
            try await db.raw("DELETE FROM transactions WHERE user_id = \(bind: "\(tag)-user")").run()
            try await db.raw("DELETE FROM users WHERE id = \(bind: "\(tag)-user")").run()
        }
    }

    static func time(_ body: () async throws -> some Any) async throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        _ = try await body()
        let elapsed = clock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// A bound value as text; nil for NULL.
    static func text(_ value: any Encodable & Sendable) -> String? {
        switch value {
        case let s as String: return s
        case let i as Int64: return String(i)
        case let i as Int: return String(i)
        case let d as Double: return String(d)
        default: return nil
        }
    }

    static func csvField(_ value: String?) -> String {
        guard let value else { return "" }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Runs `executable` to the end; returns what it printed on standard output.
    @discardableResult
    static func runProcess(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Bootstrap.fail("\(executable) exited with status \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// One measured method: its run times and derived median and throughput.
struct BenchResult {
    let engine: String
    let method: String
    let rows: Int
    let seconds: [Double]

    var median: Double { seconds.sorted()[seconds.count / 2] }
    var rowsPerSecond: Double { Double(rows) / median }

    static func table(_ results: [BenchResult]) -> String {
        var out = "| engine | method | rows | median s | rows/s | × raw |\n|---|---|---|---|---|---|\n"
        for result in results {
            let raw = results.first { $0.engine == result.engine && $0.method.hasSuffix("(raw)") }
            let ratio = raw.map { String(format: "%.2f", result.median / $0.median) } ?? "-"
            out += "| \(result.engine) | \(result.method) | \(result.rows) | \(String(format: "%.3f", result.median)) | "
                + "\(Int(result.rowsPerSecond)) | \(ratio) |\n"
        }
        return out
    }
}
