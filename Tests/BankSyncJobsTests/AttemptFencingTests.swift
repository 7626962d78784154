@testable import BankSyncJobs
import BankSyncStore
import BankSyncTesting
import Foundation
import SQLKit
import Testing

/// An attempt that outlived its lease (the job was rescued and claimed again, possibly by the
/// same worker) must not record its outcome over the attempt that runs now, nor free that
/// attempt's lock key.
@Suite("Attempt fencing")
struct AttemptFencingTests {
    static let worker = "worker-1"

    /// The job's state and attempt, and whether its lock key is held.
    static func stored(_ id: String, _ queue: JobQueue) async throws -> (state: String, attempt: Int, locked: Bool) {
        try await queue.database.withSession { db in
            let row = try #require(try await db.raw("SELECT state, attempt FROM jobs WHERE id = \(bind: id)").first())
            let lock = try await db.raw("SELECT job_id FROM job_locks WHERE job_id = \(bind: id)").first()
            return (try row.decode(column: "state", as: String.self), try row.decode(column: "attempt", as: Int.self), lock != nil)
        }
    }

    /// Claims the one job of the default queue as ``worker`` at `now` (ms).
    static func claim(_ queue: JobQueue, now: Int64) async throws -> ClaimedJob {
        let claimed = try await queue.store.claim(
            queue: "default", limit: 10, worker: worker, now: now, leaseMilliseconds: 1_000, in: queue.database)
        return try #require(claimed.first)
    }

    @Test("a stale attempt's completion or failure leaves the running attempt and its lock key alone", arguments: TestEngine.available)
    func staleAttemptIsFenced(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let queue = JobQueue(database: store.database, logger: testLogger())
            let sync = JobDefinition<Ping, EmptyResult>(name: "fenced-sync", lockKey: { "connection-\($0.n)" })
            let job = try await queue.enqueue(sync, Ping(n: 7))
            let start = Date().millisecondsSince1970

            let first = try await Self.claim(queue, now: start)
            #expect(first.attempt == 1)
            // The lease runs out while the first attempt still runs; the job is rescued and the
            // same worker claims it again.
            let rescued = try await queue.database.transaction { db in try await queue.store.rescueExpired(now: start + 5_000, on: db) }
            #expect(rescued == [job.id])
            let second = try await Self.claim(queue, now: start + 5_000)
            #expect(second.attempt == 2)
            #expect(try await Self.stored(job.id, queue) == ("running", 2, true))

            // The first attempt finally ends, both ways: nothing changes.
            try await queue.store.complete(
                [Completion(id: job.id, attempt: 1, result: nil)], worker: Self.worker, now: start + 6_000, in: queue.database)
            #expect(try await Self.stored(job.id, queue) == ("running", 2, true))
            try await queue.database.transaction { db in
                try await queue.store.settle(
                    first, outcome: .failed(message: "late", retryAt: Date()), worker: Self.worker, now: start + 6_000, on: db)
                try await queue.store.complete(
                    [Completion(id: job.id, attempt: 1, result: nil)], worker: Self.worker, now: start + 6_000, on: db)
            }
            #expect(try await Self.stored(job.id, queue) == ("running", 2, true))

            // The running attempt completes and frees the key.
            try await queue.store.complete(
                [Completion(id: job.id, attempt: 2, result: nil)], worker: Self.worker, now: start + 7_000, in: queue.database)
            #expect(try await Self.stored(job.id, queue) == ("completed", 2, false))
        }
    }
}
