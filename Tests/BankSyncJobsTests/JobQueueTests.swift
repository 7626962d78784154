import BankSyncJobs
import BankSyncStore
import BankSyncTesting
import Foundation
import SQLKit
import Testing

@Suite("Job queue")
struct JobQueueTests {
    @Test("a failing job retries with backoff and succeeds on attempt 3, keeping the failures as history", arguments: TestEngine.available)
    func retryThenSucceed(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let queue = JobQueue(database: store.database, logger: testLogger())
            let flaky = JobDefinition<Ping, Echo>(name: "flaky", options: .init(maxAttempts: 5, backoff: fastBackoff()))
            let calls = Recorder()
            var registry = JobRegistry()
            registry.register(flaky) { ping, context in
                if calls.bump("calls") < 3 { throw TestFailure(message: "bank down (attempt \(context.attempt))") }
                return Echo(doubled: ping.n * 2)
            }
            let job = try await queue.enqueue(flaky, Ping(n: 21))
            let token = try #require(job.accessToken)
            try await withServices([fastWorker(queue, registry)]) {
                try await eventually("completion") { try await queue.status(id: job.id, token: token)?.state == .completed }
            }
            let status = try #require(try await queue.status(id: job.id, token: token))
            #expect(status.attempt == 3)
            #expect(status.result == #"{"doubled":42}"#)
            #expect(status.errors.map(\.attempt) == [1, 2])
            #expect(status.errors.first?.message.contains("bank down (attempt 1)") == true)
        }
    }

    /// A payload that refuses to encode at one position: a failure halfway through a batch.
    struct Fussy: Codable, Sendable {
        var n: Int
        var refuse: Bool
        func encode(to encoder: any Encoder) throws {
            if refuse { throw EncodingError.invalidValue(n, .init(codingPath: [], debugDescription: "refused")) }
            var container = encoder.singleValueContainer()
            try container.encode(n)
        }
        init(n: Int, refuse: Bool = false) {
            self.n = n
            self.refuse = refuse
        }
        init(from decoder: any Decoder) throws {
            n = try decoder.singleValueContainer().decode(Int.self)
            refuse = false
        }
    }

    @Test("a batch of several insert statements keeps unique keys across them and is all or nothing", arguments: TestEngine.available)
    func largeBatch(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let queue = JobQueue(database: store.database, logger: testLogger())
            // Every third job has a key, k-0…k-1499: each key four times, in different statements.
            let keyed = JobDefinition<Fussy, EmptyResult>(name: "batch", uniqueKey: { $0.n % 3 == 0 ? "k-\($0.n % 1500)" : nil })
            let earlier = try await queue.enqueue(keyed, Fussy(n: 6))
            let jobs = try await queue.enqueueMany((0..<5_000).map { .init(keyed, Fussy(n: $0)) })
            #expect(jobs.count == 5_000)
            for n in [6, 1_506, 3_006, 4_506] {
                let job = jobs[n]
                #expect(job.id == earlier.id)
                #expect(job.isDuplicate)
                #expect(job.accessToken == nil)
            }
            for n in [1_500, 3_000, 4_500] {
                let job = jobs[n]
                #expect(job.id == jobs[0].id)
                #expect(job.isDuplicate)
            }
            #expect(!jobs[0].isDuplicate)
            let lastJob = jobs[4_999]
            #expect(!lastJob.isDuplicate)
            let token = try #require(lastJob.accessToken)
            let last = try await queue.status(id: lastJob.id, token: token)
            #expect(last?.state == .available)
            let count = { () async throws -> Int in
                try await store.database.withSession { db in
                    try await db.raw("SELECT count(*) AS n FROM jobs").first()!.decode(column: "n", as: Int.self)
                }
            }
            // 1 earlier + 500 distinct keys (one of them the earlier job's) + 3,333 without a key.
            let stored = 3_833
            #expect(try await count() == stored)
            #expect(Set(jobs.map(\.id)).count == stored)

            // The payload at 4,101 (no unique key: it is built) fails to encode after earlier statements ran: nothing is stored.
            await #expect(throws: EncodingError.self) {
                try await queue.enqueueMany((0..<5_000).map { .init(keyed, Fussy(n: 10_000 + $0, refuse: $0 == 4_101)) })
            }
            #expect(try await count() == stored)
        }
    }

    @Test("a job that keeps failing is discarded after its last attempt, with every error kept", arguments: TestEngine.available)
    func exhausted(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let queue = JobQueue(database: store.database, logger: testLogger())
            let doomed = JobDefinition<Ping, EmptyResult>(name: "doomed", options: .init(maxAttempts: 3, backoff: fastBackoff()))
            var registry = JobRegistry()
            registry.register(doomed) { _, context in throw TestFailure(message: "fail \(context.attempt)") }
            let job = try await queue.enqueue(doomed, Ping(n: 1))
            try await withServices([fastWorker(queue, registry)]) {
                try await eventually("discard") { try await queue.status(id: job.id, token: job.accessToken!)?.state == .discarded }
            }
            let status = try #require(try await queue.status(id: job.id, token: job.accessToken!))
            #expect(status.attempt == 3)
            #expect(status.errors.map(\.message) == ["fail 1", "fail 2", "fail 3"])
            #expect(status.errors.count == 3)
            #expect(status.finalizedAt != nil)
        }
    }

    @Test("a snooze runs the job again later without using an attempt", arguments: TestEngine.available)
    func snooze(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let queue = JobQueue(database: store.database, logger: testLogger())
            let limited = JobDefinition<Ping, EmptyResult>(name: "rate-limited", options: .init(maxAttempts: 1))
            let calls = Recorder()
            var registry = JobRegistry()
            registry.register(limited) { _, context in
                calls.bump("attempt-\(context.attempt)")
                if calls.bump("calls") <= 2 { throw JobControl.snooze(.milliseconds(30)) }
                return EmptyResult()
            }
            let job = try await queue.enqueue(limited, Ping(n: 1))
            try await withServices([fastWorker(queue, registry)]) {
                try await eventually("completion") { try await queue.status(id: job.id, token: job.accessToken!)?.state == .completed }
            }
            let status = try #require(try await queue.status(id: job.id, token: job.accessToken!))
            // maxAttempts 1 and three runs: the two snoozes did not count.
            #expect(status.attempt == 1)
            #expect(calls.value("attempt-1") == 3)
            #expect(status.errors.isEmpty)
        }
    }

    @Test("a job enqueued in a transaction that rolls back does not exist", arguments: TestEngine.available)
    func transactionalEnqueue(engine: TestEngine) async throws {
        struct Rollback: Error {}
        try await withTestStore(engine) { store, _ in
            let queue = JobQueue(database: store.database, logger: testLogger())
            let definition = JobDefinition<Ping, EmptyResult>(name: "after-write")
            await #expect(throws: Rollback.self) {
                try await store.database.transaction { db in
                    try await queue.enqueue(definition, Ping(n: 1), in: db)
                    throw Rollback()
                }
            }
            let kept = try await store.database.transaction { db in try await queue.enqueue(definition, Ping(n: 2), in: db) }
            let count = try await store.database.withSession { db in
                try await db.raw("SELECT count(*) AS n FROM jobs").first()?.decode(column: "n", as: Int.self)
            }
            #expect(count == 1)
            #expect(try await queue.status(id: kept.id, token: kept.accessToken!)?.state == .available)
        }
    }

    @Test("enqueueing a unique key that is live returns the existing job; after it completes a new one is created", arguments: TestEngine.available)
    func uniqueEnqueue(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let queue = JobQueue(database: store.database, logger: testLogger())
            let sync = JobDefinition<Ping, EmptyResult>(name: "sync", uniqueKey: { "conn-\($0.n)" })
            let first = try await queue.enqueue(sync, Ping(n: 7))
            let again = try await queue.enqueue(sync, Ping(n: 7))
            let other = try await queue.enqueue(sync, Ping(n: 8))
            #expect(again.id == first.id && again.isDuplicate && again.accessToken == nil)
            #expect(other.id != first.id && !other.isDuplicate)
            let batch = try await queue.enqueueMany([.init(sync, Ping(n: 9)), .init(sync, Ping(n: 9)), .init(sync, Ping(n: 7))])
            #expect(batch[0].id == batch[1].id)
            #expect(batch[2].id == first.id)
            var registry = JobRegistry()
            registry.register(sync) { _, _ in EmptyResult() }
            try await withServices([fastWorker(queue, registry)]) {
                try await eventually("completion") { try await queue.status(id: first.id, token: first.accessToken!)?.state == .completed }
            }
            let after = try await queue.enqueue(sync, Ping(n: 7))
            #expect(after.id != first.id && !after.isDuplicate)
        }
    }

    @Test("a key unique only while waiting: an enqueue while the job runs makes one new job, which later enqueues join", arguments: TestEngine.available)
    func uniqueWhileWaiting(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let queue = JobQueue(database: store.database, logger: testLogger())
            let sync = JobDefinition<Ping, EmptyResult>(
                name: "sync-bank", options: JobOptions(uniqueWhileRunning: false), uniqueKey: { "conn-\($0.n)" }, lockKey: { "conn-\($0.n)" })
            let started = Recorder()
            let release = Recorder()
            var registry = JobRegistry()
            registry.register(sync) { _, _ in
                started.bump("runs")
                while release.value("go") == 0 { try await Task.sleep(for: .milliseconds(10)) }
                return EmptyResult()
            }
            let first = try await queue.enqueue(sync, Ping(n: 1))
            #expect(try await queue.enqueue(sync, Ping(n: 1)).id == first.id)  // waiting: collapses
            try await withServices([fastWorker(queue, registry)]) {
                try await eventually("the first run to start") { started.value("runs") == 1 }
                // Running: the key is released, so the webhook's enqueue makes a new job...
                let second = try await queue.enqueue(sync, Ping(n: 1))
                #expect(second.id != first.id)
                #expect(!second.isDuplicate)
                // ...which the next ones join while it waits (the lock key holds it back).
                let third = try await queue.enqueue(sync, Ping(n: 1))
                #expect(third.id == second.id)
                #expect(third.isDuplicate)
                release.bump("go")
                try await eventually("both to complete") {
                    try await queue.status(id: second.id, token: second.accessToken!)?.state == .completed
                }
            }
            #expect(started.value("runs") == 2)
            // The default keeps the key while running: the existing test of unique enqueue.
            #expect(JobOptions().uniqueWhileRunning)
        }
    }

    @Test("jobs sharing a lock key never run at the same time, and all of them run", arguments: TestEngine.available)
    func lockKey(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let queue = JobQueue(database: store.database, logger: testLogger())
            let sync = JobDefinition<Ping, EmptyResult>(name: "sync-bank", lockKey: { "connection-\($0.n % 2)" })
            let recorder = Recorder()
            var registry = JobRegistry()
            registry.register(sync) { ping, _ in
                let key = "running-\(ping.n % 2)"
                if recorder.bump(key) > 1 { recorder.bump("overlap") }
                try await Task.sleep(for: .milliseconds(20))
                recorder.bump(key, by: -1)
                recorder.bump("done")
                return EmptyResult()
            }
            try await queue.enqueueMany((0..<12).map { .init(sync, Ping(n: $0)) })
            try await withServices([fastWorker(queue, registry, concurrency: 8)]) {
                try await eventually("all done") { recorder.value("done") == 12 }
            }
            #expect(recorder.value("overlap") == 0)
            let locks = try await store.database.withSession { db in
                try await db.raw("SELECT count(*) AS n FROM job_locks").first()?.decode(column: "n", as: Int.self)
            }
            #expect(locks == 0)
        }
    }

    @Test("a payload that no longer decodes is discarded with a clear error and the queue moves on", arguments: TestEngine.available)
    func undecodablePayload(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let queue = JobQueue(database: store.database, logger: testLogger())
            struct OldShape: Codable, Sendable { var connection: String }
            let old = JobDefinition<OldShape, EmptyResult>(name: "reshaped")
            let new = JobDefinition<Ping, EmptyResult>(name: "reshaped")
            let fine = JobDefinition<Ping, EmptyResult>(name: "fine")
            let stale = try await queue.enqueue(old, OldShape(connection: "c1"))
            let good = try await queue.enqueue(fine, Ping(n: 1))
            var registry = JobRegistry()
            registry.register(new) { _, _ in EmptyResult() }
            registry.register(fine) { _, _ in EmptyResult() }
            try await withServices([fastWorker(queue, registry)]) {
                try await eventually("both settled") {
                    let staleState = try await queue.status(id: stale.id, token: stale.accessToken!)?.state
                    let goodState = try await queue.status(id: good.id, token: good.accessToken!)?.state
                    return staleState == .discarded && goodState == .completed
                }
            }
            let status = try #require(try await queue.status(id: stale.id, token: stale.accessToken!))
            #expect(status.attempt == 1)
            #expect(status.lastError?.message.contains("does not decode as Ping") == true)
        }
    }

    @Test("a job no handler is registered for fails with a message naming it, and is discarded when out of attempts", arguments: TestEngine.available)
    func unknownJob(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let queue = JobQueue(database: store.database, logger: testLogger())
            let orphan = JobDefinition<Ping, EmptyResult>(name: "nobody-handles-me", options: .init(maxAttempts: 1))
            let job = try await queue.enqueue(orphan, Ping(n: 1))
            try await withServices([fastWorker(queue, JobRegistry())]) {
                try await eventually("discard") { try await queue.status(id: job.id, token: job.accessToken!)?.state == .discarded }
            }
            let status = try #require(try await queue.status(id: job.id, token: job.accessToken!))
            #expect(status.lastError?.message.contains("no handler is registered for job 'nobody-handles-me'") == true)
        }
    }

    @Test("an attempt that runs past its timeout is cancelled and counts as a failure", arguments: TestEngine.available)
    func timeout(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let queue = JobQueue(database: store.database, logger: testLogger())
            let slow = JobDefinition<Ping, EmptyResult>(name: "slow", options: .init(maxAttempts: 1, timeout: .milliseconds(100)))
            let cancelled = Recorder()
            var registry = JobRegistry()
            registry.register(slow) { _, _ in
                do { try await Task.sleep(for: .seconds(30)) } catch { cancelled.bump("cancelled") }
                return EmptyResult()
            }
            let job = try await queue.enqueue(slow, Ping(n: 1))
            try await withServices([fastWorker(queue, registry)]) {
                try await eventually("discard") { try await queue.status(id: job.id, token: job.accessToken!)?.state == .discarded }
            }
            let status = try #require(try await queue.status(id: job.id, token: job.accessToken!))
            #expect(status.lastError?.message.contains("timed out") == true)
            #expect(cancelled.value("cancelled") == 1)
        }
    }

    @Test("status needs the job's token; a wrong token looks like no job", arguments: TestEngine.available)
    func statusToken(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let queue = JobQueue(database: store.database, logger: testLogger())
            let job = try await queue.enqueue(JobDefinition<Ping, EmptyResult>(name: "x"), Ping(n: 1))
            #expect(try await queue.status(id: job.id, token: "jst_wrong") == nil)
            #expect(try await queue.status(id: job.id, token: job.accessToken!)?.name == "x")
            let stored = try await store.database.withSession { db in
                try await db.raw("SELECT access_token_hash FROM jobs").first()?.decode(column: "access_token_hash", as: String.self)
            }
            #expect(stored != job.accessToken)
            #expect(try await queue.cancel(id: job.id))
            #expect(try await queue.status(id: job.id, token: job.accessToken!)?.state == .cancelled)
            #expect(try await !queue.cancel(id: job.id))
        }
    }

    @Test("a job whose worker died is rescued when its lease expires and then completes", arguments: TestEngine.available)
    func rescue(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let clock = TestClock(Date())
            let queue = JobQueue(database: store.database, logger: testLogger(), now: { clock.now })
            let work = JobDefinition<Ping, EmptyResult>(name: "work", lockKey: { _ in "only-one" })
            let job = try await queue.enqueue(work, Ping(n: 1))
            // A worker claims the job and dies: simulate with a claim that is never settled.
            try await store.database.withSession { db in
                try await db.raw(
                    "UPDATE jobs SET state = 'running', attempt = 1, leased_by = 'dead-worker', lease_expires_at = \(bind: clock.now.millisecondsSince1970 + 1_000)"
                ).run()
                try await db.raw("INSERT INTO job_locks (lock_key, job_id) VALUES ('only-one', \(bind: job.id))").run()
            }
            let maintenance = JobMaintenance(queue: queue, logger: testLogger())
            #expect(try await maintenance.rescue().isEmpty)  // lease still valid
            clock.set(clock.now.addingTimeInterval(2))
            #expect(try await maintenance.rescue() == [job.id])
            var registry = JobRegistry()
            registry.register(work) { _, _ in EmptyResult() }
            try await withServices([fastWorker(queue, registry)]) {
                try await eventually("completion") { try await queue.status(id: job.id, token: job.accessToken!)?.state == .completed }
            }
            let status = try #require(try await queue.status(id: job.id, token: job.accessToken!))
            #expect(status.attempt == 2)
            #expect(status.errors.first?.message.contains("lease expired") == true)
        }
    }

    @Test("pruning removes finished jobs past retention and beyond the count kept, never live ones", arguments: TestEngine.available)
    func prune(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let clock = TestClock(Date(timeIntervalSince1970: 1_780_000_000))
            let queue = JobQueue(database: store.database, logger: testLogger(), now: { clock.now })
            let definition = JobDefinition<Ping, EmptyResult>(name: "p")
            let jobs = try await queue.enqueueMany((0..<10).map { .init(definition, Ping(n: $0)) })
            try await store.database.withSession { db in
                for (i, job) in jobs.prefix(8).enumerated() {
                    // Finished i days ago.
                    let at = clock.now.addingTimeInterval(-Double(i) * 86_400).millisecondsSince1970
                    try await db.raw("UPDATE jobs SET state = 'completed', finalized_at = \(bind: at) WHERE id = \(bind: job.id)").run()
                }
            }
            let maintenance = JobMaintenance(
                queue: queue, configuration: .init(retention: .seconds(5 * 86_400 + 60), keepFinished: 3), logger: testLogger())
            #expect(try await maintenance.prune() == 5)  // 2 past 5 days, then all but the newest 3
            let left = try await store.database.withSession { db in
                try await db.raw("SELECT state, count(*) AS n FROM jobs GROUP BY state ORDER BY state").all()
                    .map { "\(try $0.decode(column: "state", as: String.self))=\(try $0.decode(column: "n", as: Int.self))" }
            }
            #expect(left == ["available=2", "completed=3"])
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
