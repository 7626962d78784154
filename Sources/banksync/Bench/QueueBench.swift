import ArgumentParser
import BankSyncJobs
import BankSyncStore
import Foundation
import Logging
import SQLKit
import ServiceLifecycle
import Synchronization

/// `banksync bench queue`: enqueue (batched and one by one), drain of no-op jobs, and
/// enqueue→start latency, on SQLite and PostgreSQL. The shapes match the peer scripts in
/// `../shared/bench/queue-peers/` so their figures can be set side by side.
struct QueueBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Job queue throughput and latency.",
        discussion: "PostgreSQL runs when --postgres-url or BANKSYNC_TEST_POSTGRES_URL is set. It empties the jobs table of that database: point it at a scratch database.")

    @Option(help: "Jobs for batched enqueue and drain.") var jobs = 20_000
    @Option(help: "Jobs enqueued one by one.") var singleJobs = 20_000
    @Option(help: "Runs per measurement; the median is reported.") var runs = 3
    @Option(help: "Worker concurrency (claim batch = free slots) for the drain.") var concurrency = 100
    @Option(help: "Workers draining side by side (each with --concurrency slots), as the peers' drains run several.")
    var workers = 1
    @Flag(help: "Measure the drain only.") var drainOnly = false
    @Option(help: "Measure only these phases (repeatable): enqueue, single, drain, latency. Default: all.") var phase: [Phase] = []

    enum Phase: String, ExpressibleByArgument, CaseIterable, Sendable { case enqueue, single, drain, latency }

    var phases: Set<Phase> { drainOnly ? [.drain] : phase.isEmpty ? Set(Phase.allCases) : Set(phase) }
    @Option(help: "Jobs in the latency run.") var latencyJobs = 200
    @Option(help: "Milliseconds between latency-run enqueues.") var intervalMs = 50
    @Option(help: "PostgreSQL URL (default: BANKSYNC_TEST_POSTGRES_URL).") var postgresURL: String?
    @Flag(help: "Skip SQLite.") var skipSqlite = false
    @Flag(help: "Skip PostgreSQL.") var skipPostgres = false
    @Flag(help: "Record no metrics (by default they go to a Prometheus registry, as in `serve` and `worker`).")
    var withoutMetrics = false

    /// The enqueue and drain runs' payload: `{}`, as the peers' jobs carry (the raw ceiling's
    /// `'{}'` args, pgqueuer's empty payload). It still goes through the typed decode.
    struct Noop: Codable, Sendable {}

    /// The latency run's payload: when the job was enqueued.
    struct Stamp: Codable, Sendable {
        /// Seconds since 1970.
        var at: Double
    }

    static let noop = JobDefinition<Noop, EmptyResult>(name: "bench.noop", options: JobOptions(queue: "bench", maxAttempts: 1))
    static let stamped = JobDefinition<Stamp, EmptyResult>(name: "bench.latency", options: JobOptions(queue: "bench", maxAttempts: 1))

    func run() async throws {
        var logger = Logger(label: "banksync.bench")
        logger.logLevel = .error
        BenchMetrics.bootstrapUnless(withoutMetrics)
        var lines: [String] = []
        if !skipSqlite {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("banksync-qbench-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let url = DatabaseURL.sqlite(path: directory.appendingPathComponent("queue.sqlite").path)
            lines += try await measure(engine: "sqlite", url: url, logger: logger)
        }
        if !skipPostgres, let text = postgresURL ?? ProcessInfo.processInfo.environment["BANKSYNC_TEST_POSTGRES_URL"] {
            lines += try await measure(engine: "postgres", url: try DatabaseURL(parsing: text), logger: logger)
        }
        print("| engine | metric | jobs | median | unit |\n|---|---|---|---|---|")
        for line in lines { print(line) }
    }

    func measure(engine: String, url: DatabaseURL, logger: Logger) async throws -> [String] {
        try await Database.withDatabase(url, logger: logger) { database in
            try await Migrator(database: database, logger: logger).migrate()
            let queue = JobQueue(database: database, logger: logger)
            var batched: [Double] = []
            var single: [Double] = []
            var drain: [Double] = []
            var drainCPU: [Double] = []
            var p50: [Double] = []
            var p95: [Double] = []
            for _ in 0..<runs {
                let requests = (0..<jobs).map { _ in JobQueue.Request(Self.noop, Noop()) }
                if phases.contains(.enqueue) {
                    try await empty(database)
                    batched.append(Double(jobs) / (try await UpsertBench.time { try await queue.enqueueMany(requests) }))
                }
                if phases.contains(.single) {
                    try await empty(database)
                    single.append(
                        Double(singleJobs)
                            / (try await UpsertBench.time {
                                for _ in 0..<singleJobs { try await queue.enqueue(Self.noop, Noop()) }
                            }))
                }
                if phases.contains(.drain) {
                    try await empty(database)
                    try await queue.enqueueMany(requests)
                    let (seconds, cpu) = try await drainTime(queue: queue, logger: logger)
                    drain.append(Double(jobs) / seconds)
                    drainCPU.append(cpu * 1e6 / Double(jobs))
                }
                if phases.contains(.latency) {
                    try await empty(database)
                    let (fifty, ninetyFive) = try await latency(queue: queue, logger: logger)
                    p50.append(fifty)
                    p95.append(ninetyFive)
                }
            }
            try await empty(database)
            func median(_ values: [Double]) -> String { values.isEmpty ? "" : String(format: "%.2f", values.sorted()[values.count / 2]) }
            func rate(_ values: [Double]) -> String { values.isEmpty ? "" : "\(Int(values.sorted()[values.count / 2]))" }
            var lines: [String] = []
            if !batched.isEmpty { lines.append("| \(engine) | enqueue batched | \(jobs) | \(rate(batched)) | jobs/s |") }
            if !single.isEmpty { lines.append("| \(engine) | enqueue one by one | \(singleJobs) | \(rate(single)) | jobs/s |") }
            if !drain.isEmpty {
                lines.append("| \(engine) | drain (\(workers) × concurrency \(concurrency)) | \(jobs) | \(rate(drain)) | jobs/s |")
                lines.append("| \(engine) | drain: this process's CPU per job | \(jobs) | \(median(drainCPU)) | µs |")
            }
            if !p50.isEmpty {
                lines.append("| \(engine) | enqueue→start p50 | \(latencyJobs) | \(median(p50)) | ms |")
                lines.append("| \(engine) | enqueue→start p95 | \(latencyJobs) | \(median(p95)) | ms |")
            }
            return lines
        }
    }

    func empty(_ database: Database) async throws {
        try await database.withSession { db in
            try await db.raw("DELETE FROM job_locks").run()
            try await db.raw("DELETE FROM jobs").run()
            // Each phase starts from a clean table, as the peers' runs do: without this, the
            // dead index entries of the previous phase's 20,000 jobs slow the next one's claims.
            if database.engine == .postgres { try await db.raw("VACUUM ANALYZE jobs").run() }
        }
    }

    /// Seconds from starting a worker until every queued job is completed, and the CPU seconds
    /// this process (the workers, user and system) used meanwhile: on a machine the database
    /// shares, what the workers take is what the server cannot have.
    func drainTime(queue: JobQueue, logger: Logger) async throws -> (seconds: Double, cpu: Double) {
        let handled = Mutex(0)
        var registry = JobRegistry()
        registry.register(Self.noop) { _, _ in
            handled.withLock { $0 += 1 }
            return EmptyResult()
        }
        let drainers: [any Service] = (0..<max(1, workers)).map { _ in
            JobWorker(
                queue: queue, registry: registry,
                configuration: .init(queue: "bench", concurrency: concurrency, pollInterval: .milliseconds(100)), logger: logger)
        }
        return try await withRunning(drainers + [JobListener(queue: queue, logger: logger)], logger: logger) {
            let cpuBefore = Self.processCPUSeconds()
            let seconds = try await UpsertBench.time {
                // Count in memory while draining (a COUNT over the table would compete with the
                // worker); then wait for the last outcomes to be written.
                while handled.withLock({ $0 }) < jobs { try await Task.sleep(for: .milliseconds(2)) }
                while try await queue.database.withSession({ db in
                    try await db.raw("SELECT count(*) AS n FROM jobs WHERE state <> 'completed'").first()?.decode(column: "n", as: Int.self) ?? 0
                }) > 0 {
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
            return (seconds, Self.processCPUSeconds() - cpuBefore)
        }
    }

    /// User and system CPU seconds of this process so far.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// p50 and p95 in milliseconds of enqueue→handler-start, one job every `intervalMs`.
    func latency(queue: JobQueue, logger: Logger) async throws -> (Double, Double) {
        let samples = Mutex<[Double]>([])
        var registry = JobRegistry()
        registry.register(Self.stamped) { payload, _ in
            let delay = (Date().timeIntervalSince1970 - payload.at) * 1000
            samples.withLock { $0.append(delay) }
            return EmptyResult()
        }
        let worker = JobWorker(
            queue: queue, registry: registry, configuration: .init(queue: "bench", concurrency: 10, pollInterval: .seconds(1)),
            logger: logger)
        try await withRunning([worker, JobListener(queue: queue, logger: logger)], logger: logger) {
            try await Task.sleep(for: .milliseconds(500))  // listener connected, worker idle
            for _ in 0..<latencyJobs {
                try await queue.enqueue(Self.stamped, Stamp(at: Date().timeIntervalSince1970))
                try await Task.sleep(for: .milliseconds(intervalMs))
            }
            while samples.withLock({ $0.count }) < latencyJobs { try await Task.sleep(for: .milliseconds(10)) }
        }
        let sorted = samples.withLock { $0 }.sorted()
        return (sorted[sorted.count / 2], sorted[Int(0.95 * Double(sorted.count - 1))])
    }

    func withRunning<T: Sendable>(_ services: [any Service], logger: Logger, _ body: () async throws -> T) async throws -> T {
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { tasks.cancelAll() }
            let result = try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        }
    }
}
