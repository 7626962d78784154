import BankSyncJobs
import BankSyncStore
import BankSyncTesting
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SQLKit
import Testing

@Suite("Worker processes")
struct WorkerProcessTests {
    /// The `banksync` executable built beside the test bundle, or nil (recorded as an issue).
    static func executable() -> URL? {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("banksync")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            Issue.record("banksync executable not found at \(binary.path)")
            return nil
        }
        return binary
    }

    @Test("a worker process killed with SIGKILL mid-job: the job is rescued and completes once more, nothing else is lost", arguments: TestEngine.available)
    func sigkill(engine: TestEngine) async throws {
        guard let binary = Self.executable() else { return }
        try await withTestStore(engine) { store, _ in
            let queue = JobQueue(database: store.database, logger: testLogger())
            var first = Diagnostics.sleep
            first.options.priority = -1
            let victim = try await queue.enqueue(first, Diagnostics.Sleep(milliseconds: 120_000, note: "victim"))
            let others = try await queue.enqueueMany((0..<5).map { .init(Diagnostics.sleep, Diagnostics.Sleep(milliseconds: 1, note: "other-\($0)")) })

            // A real worker process takes the high-priority job and hangs in it.
            let child = try Self.startWorker(
                binary, database: store.database, arguments: ["--concurrency", "1", "--lease-seconds", "2", "--poll-interval-ms", "100"])
            defer { if child.isRunning { kill(child.processIdentifier, SIGKILL) } }
            try await eventually("the child to start the victim") {
                let leasedBy = try await store.database.withSession { db in
                    try await db.raw("SELECT leased_by FROM jobs WHERE id = \(bind: victim.id) AND state = 'running'").first()?
                        .decode(column: "leased_by", as: String?.self)
                }
                return leasedBy?.contains(":\(child.processIdentifier):") == true
            }
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            #expect(child.terminationReason == .uncaughtSignal)

            // This process works the queue with a fast handler under the same name.
            let runs = Recorder()
            var registry = JobRegistry()
            registry.register(Diagnostics.sleep) { payload, _ in
                runs.bump(payload.note ?? "?")
                return payload
            }
            let maintenance = JobMaintenance(queue: queue, configuration: .init(rescueInterval: .milliseconds(200)), logger: testLogger())
            try await withServices([maintenance, fastWorker(queue, registry)]) {
                try await eventually("everything completed", timeout: .seconds(30)) {
                    for job in [victim] + others {
                        guard try await queue.status(id: job.id, token: job.accessToken!)?.state == .completed else { return false }
                    }
                    return true
                }
            }
            let status = try #require(try await queue.status(id: victim.id, token: victim.accessToken!))
            #expect(status.attempt == 2)
            #expect(status.errors.first?.message.contains("lease expired") == true)
            #expect(runs.value("victim") == 1)
            #expect((0..<5).allSatisfy { runs.value("other-\($0)") == 1 })
        }
    }

    @Test("two worker processes drain one queue: every job completes exactly once, unique keys hold", arguments: TestEngine.available)
    func twoProcesses(engine: TestEngine) async throws {
        guard let binary = Self.executable() else { return }
        try await withTestStore(engine) { store, _ in
            let queue = JobQueue(database: store.database, logger: testLogger())
            var children: [Process] = []
            let metricsPorts = [try Self.freePort(), try Self.freePort()]
            for port in metricsPorts {
                children.append(try Self.startWorker(
                    binary, database: store.database, arguments: ["--concurrency", "8", "--poll-interval-ms", "100", "--metrics-port", "\(port)"]))
            }
            defer { for child in children where child.isRunning { kill(child.processIdentifier, SIGKILL) } }
            // Both workers are up (their metrics ports answer: signal handlers in place) before the
            // jobs arrive, so they compete for them and neither is stopped while still starting.
            for (index, port) in metricsPorts.enumerated() {
                try await eventually("worker \(index + 1)'s metrics port to answer", timeout: .seconds(30)) {
                    (try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/health/live")!)) != nil
                }
            }
            var unique = Diagnostics.sleep
            unique.uniqueKey = { $0.note }
            let enqueued = try await queue.enqueueMany((0..<400).map { .init(unique, Diagnostics.Sleep(milliseconds: 2, note: "k\($0 % 200)")) })
            #expect(Set(enqueued.map(\.id)).count == 200)
            try await eventually("the queue to drain", timeout: .seconds(60)) {
                try await store.database.withSession { db in
                    try await db.raw("SELECT count(*) AS n FROM jobs WHERE state <> 'completed' AND name = \(bind: Diagnostics.sleep.name)").first()?
                        .decode(column: "n", as: Int.self)
                } == 0
            }
            // Each worker exports its job metrics for Prometheus (between them, every start is counted).
            var metrics = ""
            for port in metricsPorts {
                let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
                metrics += String(decoding: data, as: UTF8.self)
            }
            #expect(metrics.contains("banksync_jobs_started_total"), "\(metrics.prefix(500))")
            for child in children {
                kill(child.processIdentifier, SIGTERM)
                child.waitUntilExit()
                #expect(child.terminationStatus == 0, "worker did not shut down cleanly on SIGTERM")
            }
            let rows = try await store.database.withSession { db in
                // Only this test's jobs: the workers' own schedulers may have enqueued their ticks.
                try await db.raw("SELECT attempt FROM jobs WHERE name = \(bind: Diagnostics.sleep.name)").all()
            }
            #expect(rows.count == 200)
            // Each job was claimed once: a second claim would have counted a second attempt.
            #expect(try rows.allSatisfy { try $0.decode(column: "attempt", as: Int.self) == 1 })
        }
    }

    @Test("a cron schedule fires once per tick across three scheduler processes, and once to catch up after downtime", arguments: TestEngine.available)
    func cronAcrossProcesses(engine: TestEngine) async throws {
        guard let binary = Self.executable() else { return }
        try await withTestStore(engine) { store, _ in
            let minute = { (text: String) in CronExpressionTests.date(text).millisecondsSince1970 }
            // First sight: the schedule rows are created, nothing runs for the past.
            #expect(try await Self.schedulerPasses(binary, store.database, at: "2026-05-28T10:00:30Z") == ["nothing due", "nothing due", "nothing due"])
            #expect(try await Self.ticks(store.database).isEmpty)
            // The minute tick is due: exactly one process enqueues it.
            let outputs = try await Self.schedulerPasses(binary, store.database, at: "2026-05-28T10:01:05Z")
            #expect(outputs.filter { $0.contains("schedule-syncs") }.count == 1, "\(outputs)")
            #expect(try await Self.ticks(store.database)["schedule-syncs"] == [minute("2026-05-28T10:01:00Z")])
            // Down for an hour: one catch-up run for the sixty-odd missed minutes, not a storm.
            _ = try await Self.schedulerPasses(binary, store.database, at: "2026-05-28T11:07:10Z")
            let after = try await Self.ticks(store.database)
            #expect(after["schedule-syncs"] == [minute("2026-05-28T10:01:00Z"), minute("2026-05-28T11:07:00Z")])
            #expect(after.values.allSatisfy { Set($0).count == $0.count })
            // The status the operator sees.
            let (lister, pipe) = try Self.start(binary, ["schedules", "list"], database: store.database, captureOutput: true)
            let listed = String(decoding: try pipe!.fileHandleForReading.readToEnd() ?? Data(), as: UTF8.self)
            lister.waitUntilExit()
            #expect(listed.contains("schedule-syncs  cron '* * * * *'  last tick 2026-05-28T11:07:00Z"), "\(listed)")
        }
    }

    /// Runs `banksync schedules tick --at time` in three processes at once, as three workers
    /// would at a minute boundary (`--at` stands in for the wall clock); their outputs.
    static func schedulerPasses(_ binary: URL, _ database: Database, at time: String) async throws -> [String] {
        let children = try (0..<3).map { _ in try start(binary, ["schedules", "tick", "--at", time], database: database, captureOutput: true) }
        var outputs: [String] = []
        for (child, pipe) in children {
            let data = try pipe!.fileHandleForReading.readToEnd() ?? Data()
            child.waitUntilExit()
            if child.terminationStatus != 0 { Issue.record("schedules tick exited \(child.terminationStatus)") }
            outputs.append(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return outputs
    }

    /// The enqueued jobs' scheduled times by job name.
    static func ticks(_ database: Database) async throws -> [String: [Int64]] {
        let rows = try await database.withSession { db in
            try await db.raw("SELECT name, scheduled_at FROM jobs ORDER BY scheduled_at").all()
        }
        var result: [String: [Int64]] = [:]
        for row in rows { result[try row.decode(column: "name", as: String.self), default: []].append(try row.decode(column: "scheduled_at", as: Int64.self)) }
        return result
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago, below Linux's ephemeral range
    /// (32768–60999): the other tests' servers bind port 0 and get ephemeral ports, and one of
    /// them took a port this returned before the worker child could bind it (the child then
    /// exited with "Address already in use").
    static func freePort() throws -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: 20_000..<32_000)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(descriptor) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
            if bound == 0 { return port }
        }
        throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "no free TCP port found in 20000-31999"])
    }

    /// Starts `banksync worker` against `database` in a child process.
    static func startWorker(_ binary: URL, database: Database, arguments: [String]) throws -> Process {
        try start(binary, ["worker"] + arguments, database: database, captureOutput: false).0
    }

    /// Starts `banksync arguments…` against `database` in a child process, its standard output
    /// in the returned pipe when `captureOutput`.
    static func start(_ binary: URL, _ arguments: [String], database: Database, captureOutput: Bool) throws -> (Process, Pipe?) {
        let child = Process()
        child.executableURL = binary
        child.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["BANKSYNC_DATABASE_URL"] = url(of: database)
        environment["BANKSYNC_ENCRYPTION_KEYS"] = "test:\(Keyring.generateKeyBase64())"
        environment["BANKSYNC_LOG_LEVEL"] = "error"
        child.environment = environment
        let pipe = captureOutput ? Pipe() : nil
        child.standardOutput = pipe ?? FileHandle.nullDevice
        try child.run()
        return (child, pipe)
    }

    static func url(of database: Database) -> String {
        switch database.url {
        case .sqlite(let path): return "sqlite://\(path)"
        case .sqliteMemory: return "sqlite::memory:"
        case .postgres(let l):
            let password = l.password.map { ":\($0)" } ?? ""
            return "postgres://\(l.username)\(password)@\(l.host):\(l.port)/\(l.database)?sslmode=disable"
        }
    }
}
