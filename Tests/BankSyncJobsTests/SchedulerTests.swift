import BankSyncJobs
import BankSyncStore
import BankSyncTesting
import Foundation
import SQLKit
import Testing

@Suite("Scheduler")
struct SchedulerTests {
    @Test("a schedule fires once per tick across three schedulers, and once to catch up after downtime", arguments: TestEngine.available)
    func firesOncePerTick(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let clock = TestClock(CronExpressionTests.date("2026-05-28T10:00:30Z"))
            let definition = JobDefinition<Ping, EmptyResult>(name: "refresh-balances")
            let schedulers = (0..<3).map { _ in
                JobScheduler(
                    queue: JobQueue(database: store.database, logger: testLogger(), now: { clock.now }),
                    schedules: [try! RecurringJob(name: "balances", cron: "*/5 * * * *", job: definition, payload: Ping(n: 1))],
                    logger: testLogger())
            }
            func tickAll() async throws -> Int {
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for scheduler in schedulers { group.addTask { try await scheduler.tick().count } }
                    return try await group.reduce(0, +)
                }
            }
            #expect(try await tickAll() == 0)  // first sight: no run for the past
            clock.set(CronExpressionTests.date("2026-05-28T10:05:01Z"))
            #expect(try await tickAll() == 1)
            #expect(try await tickAll() == 0)
            clock.set(CronExpressionTests.date("2026-05-28T10:09:59Z"))
            #expect(try await tickAll() == 0)
            // Down for an hour: twelve ticks missed, one catch-up run.
            clock.set(CronExpressionTests.date("2026-05-28T11:07:00Z"))
            #expect(try await tickAll() == 1)
            let scheduled = try await store.database.withSession { db in
                try await db.raw("SELECT scheduled_at FROM jobs ORDER BY scheduled_at").all()
                    .map { Date(millisecondsSince1970: try $0.decode(column: "scheduled_at", as: Int64.self)) }
            }
            #expect(scheduled == [CronExpressionTests.date("2026-05-28T10:05:00Z"), CronExpressionTests.date("2026-05-28T11:05:00Z")])
        }
    }
}

@Suite("Several workers")
struct MultiWorkerTests {
    @Test("two workers on separate connections drain a queue with no job run twice", arguments: TestEngine.available)
    func drainOnce(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let definition = JobDefinition<Ping, EmptyResult>(name: "count", uniqueKey: { "n-\($0.n % 150)" })
            let runs = Recorder()
            var registry = JobRegistry()
            registry.register(definition) { ping, _ in
                runs.bump("job-\(ping.n)")
                return EmptyResult()
            }
            let queue = JobQueue(database: store.database, logger: testLogger())
            let enqueued = try await queue.enqueueMany((0..<300).map { .init(definition, Ping(n: $0)) })
            #expect(Set(enqueued.map(\.id)).count == 150)  // unique keys collapse 300 into 150
            // The second worker gets its own database handle: for PostgreSQL its own pool, as a
            // second process would.
            try await withSecondHandle(engine, store.database) { other in
                let otherQueue = JobQueue(database: other, logger: testLogger())
                try await withServices([fastWorker(queue, registry, concurrency: 8), fastWorker(otherQueue, registry, concurrency: 8)]) {
                    try await eventually("drain") { runs.all.values.reduce(0, +) >= 150 }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            #expect(runs.all.count == 150)
            #expect(runs.all.values.allSatisfy { $0 == 1 })
        }
    }
}

/// A second, independent handle on the same database (a new PostgreSQL pool; the same SQLite file handle).
func withSecondHandle<T: Sendable>(_ engine: TestEngine, _ database: Database, _ body: (Database) async throws -> T) async throws -> T {
    switch engine {
    case .sqlite: return try await body(database)
    case .postgres: return try await Database.withDatabase(database.url, logger: testLogger()) { try await body($0) }
    }
}
