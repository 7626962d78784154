@testable import BankSyncJobs
import BankSyncStore
import BankSyncTesting
import Foundation
import SQLKit
import Testing

/// A worker's cycle written as one commit: the finished attempts completed and the next jobs
/// claimed (on PostgreSQL one statement when no completed job holds a lock key).
@Suite("Complete and claim in one cycle")
struct CompleteAndClaimTests {
    static let worker = "worker-1"

    /// Each job's state and attempt, by id.
    static func states(_ queue: JobQueue) async throws -> [String: String] {
        try await queue.database.withSession { db in
            var states: [String: String] = [:]
            for row in try await db.raw("SELECT id, state, attempt FROM jobs").all() {
                let id = try row.decode(column: "id", as: String.self)
                states[id] = "\(try row.decode(column: "state", as: String.self)) \(try row.decode(column: "attempt", as: Int.self))"
            }
            return states
        }
    }

    static func completeAndClaim(
        _ queue: JobQueue, _ results: [Completion], releasingLocks: Bool, limit: Int = 10
    ) async throws -> [ClaimedJob] {
        try await queue.store.completeAndClaim(
            results, releasingLocks: releasingLocks, queue: "default", limit: limit, worker: worker, now: Date().millisecondsSince1970,
            leaseMilliseconds: 30_000, in: queue.database)
    }

    @Test("completes the finished attempts, claims the waiting jobs, and leaves a stale attempt's job running", arguments: TestEngine.available)
    func completesAndClaims(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let queue = JobQueue(database: store.database, logger: testLogger())
            let ping = JobDefinition<Ping, EmptyResult>(name: "cycle-ping")
            let a = try await queue.enqueue(ping, Ping(n: 1))
            let b = try await queue.enqueue(ping, Ping(n: 2))
            let first = try await Self.completeAndClaim(queue, [], releasingLocks: false, limit: 2)
            #expect(Set(first.map(\.id)) == [a.id, b.id])
            let c = try await queue.enqueue(ping, Ping(n: 3))
            let d = try await queue.enqueue(ping, Ping(n: 4))

            // `a` finished its first attempt; the completion for `b` names an attempt that is
            // not the one running (as from an attempt that outlived its lease).
            let claimed = try await Self.completeAndClaim(
                queue, [Completion(id: a.id, attempt: 1, result: "{\"ok\":true}"), Completion(id: b.id, attempt: 2, result: nil)],
                releasingLocks: false)
            #expect(Set(claimed.map(\.id)) == [c.id, d.id])
            #expect(claimed.allSatisfy { $0.attempt == 1 })
            let states = try await Self.states(queue)
            #expect(states == [a.id: "completed 1", b.id: "running 1", c.id: "running 1", d.id: "running 1"])
            let token = try #require(a.accessToken)
            let status = try #require(try await queue.status(id: a.id, token: token))
            #expect(status.result == "{\"ok\":true}")
        }
    }

    @Test("a completion that frees a lock key lets the same cycle claim the job waiting on it", arguments: TestEngine.available)
    func freedLockIsClaimedInTheSameCycle(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let queue = JobQueue(database: store.database, logger: testLogger())
            let sync = JobDefinition<Ping, EmptyResult>(name: "cycle-sync", lockKey: { "connection-\($0.n)" })
            let first = try await queue.enqueue(sync, Ping(n: 9))
            #expect(try await Self.completeAndClaim(queue, [], releasingLocks: false).map(\.id) == [first.id])
            let second = try await queue.enqueue(sync, Ping(n: 9))
            // While the first holds the key, the second waits.
            #expect(try await Self.completeAndClaim(queue, [], releasingLocks: false).isEmpty)

            let claimed = try await Self.completeAndClaim(
                queue, [Completion(id: first.id, attempt: 1, result: nil)], releasingLocks: true)
            #expect(claimed.map(\.id) == [second.id])
            #expect(try await Self.states(queue) == [first.id: "completed 1", second.id: "running 1"])
        }
    }
}
