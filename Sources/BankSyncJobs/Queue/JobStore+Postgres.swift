import BankSyncStore
import SQLKit

/// PostgreSQL forms of the three hot statements. Each is one round trip: arrays bound as
/// `unnest(…)` instead of thousands of scalar binds, and data-modifying CTEs where SQLite
/// needs several statements. SQLite runs the generic forms in `JobStore.swift` (no network,
/// so extra statements cost little there).
extension JobStore {
    /// Inserts jobs with one statement and notifies their queues in it. Empty strings stand
    /// for NULL in the nullable arrays (no job has an empty unique or lock key).
    func insertPostgres(_ jobs: [NewJob], now: Int64, on db: any SQLDatabase) async throws -> [any SQLRow] {
        guard !jobs.isEmpty else { return [] }
        return try await db.raw(
            """
            WITH inserted AS (
                INSERT INTO jobs (id, name, queue, state, priority, payload, attempt, max_attempts, scheduled_at, created_at,
                    timeout_ms, unique_key, unique_finished_states, lock_key, errors, access_token_hash)
                SELECT t.id, t.name, t.queue, 'available', t.priority, t.payload, 0, t.max_attempts, t.scheduled_at,
                    \(bind: now), t.timeout_ms, NULLIF(t.unique_key, ''), t.finished_states, NULLIF(t.lock_key, ''), '[]', t.hash
                FROM unnest(\(bind: jobs.map(\.id)), \(bind: jobs.map(\.name)), \(bind: jobs.map(\.queue)),
                    \(bind: jobs.map { Int64($0.priority) }), \(bind: jobs.map(\.payload)), \(bind: jobs.map { Int64($0.maxAttempts) }),
                    \(bind: jobs.map(\.scheduledAt)), \(bind: jobs.map(\.timeoutMilliseconds)), \(bind: jobs.map { $0.uniqueKey ?? "" }),
                    \(bind: jobs.map(\.uniqueFinishedStates)), \(bind: jobs.map { $0.lockKey ?? "" }), \(bind: jobs.map(\.tokenHash)))
                    AS t(id, name, queue, priority, payload, max_attempts, scheduled_at, timeout_ms, unique_key,
                         finished_states, lock_key, hash)
                ON CONFLICT (unique_key) DO UPDATE SET unique_key = excluded.unique_key
                RETURNING id, unique_key, queue
            ), notified AS (
                SELECT pg_notify(\(bind: JobQueue.channel), q.queue) FROM (SELECT DISTINCT queue FROM inserted) AS q
            )
            SELECT id, unique_key FROM inserted, (SELECT count(*) FROM notified) AS n
            """
        ).all()
    }

    /// Claims with one statement: lock candidate rows (SKIP LOCKED), take their lock keys
    /// (ON CONFLICT DO NOTHING), mark the winners running.
    func claimPostgres(queue: String, limit: Int, worker: String, now: Int64, leaseMilliseconds: Int64, on db: any SQLDatabase)
        async throws -> [ClaimedJob]
    {
        try await db.raw(
            """
            WITH candidates AS (
                SELECT id, lock_key FROM jobs
                WHERE queue = \(bind: queue) AND state IN ('available', 'retryable') AND scheduled_at <= \(bind: now)
                  AND (lock_key IS NULL OR NOT EXISTS (SELECT 1 FROM job_locks l WHERE l.lock_key = jobs.lock_key))
                ORDER BY priority, scheduled_at, id
                LIMIT \(bind: limit)
                FOR UPDATE SKIP LOCKED
            ), locked AS (
                INSERT INTO job_locks (lock_key, job_id)
                SELECT DISTINCT ON (lock_key) lock_key, id FROM candidates WHERE lock_key IS NOT NULL ORDER BY lock_key, id
                ON CONFLICT (lock_key) DO NOTHING
                RETURNING job_id
            ), chosen AS (
                SELECT id FROM candidates WHERE lock_key IS NULL
                UNION ALL
                SELECT job_id FROM locked
            )
            UPDATE jobs SET state = 'running', attempt = jobs.attempt + 1, attempted_at = \(bind: now),
                lease_expires_at = \(bind: now + leaseMilliseconds), leased_by = \(bind: worker)
            FROM chosen WHERE jobs.id = chosen.id
            RETURNING jobs.id, jobs.name, jobs.payload, jobs.attempt, jobs.max_attempts, jobs.timeout_ms, jobs.lock_key,
                jobs.errors, jobs.created_at, jobs.scheduled_at
            """
        ).all().map { try Self.claimedJob($0, attemptOffset: 0) }
    }

    /// Completes many jobs and releases their lock keys with one statement.
    func completePostgres(_ results: [(id: String, result: String?)], worker: String, now: Int64, on db: any SQLDatabase)
        async throws
    {
        _ = try await db.raw(
            """
            WITH done AS (
                UPDATE jobs SET state = 'completed', finalized_at = \(bind: now), result = NULLIF(v.result, ''),
                    lease_expires_at = NULL, leased_by = NULL,
                    unique_key = CASE WHEN jobs.unique_finished_states LIKE '%,completed,%' THEN jobs.unique_key ELSE NULL END
                FROM unnest(\(bind: results.map(\.id)), \(bind: results.map { $0.result ?? "" })) AS v(id, result)
                WHERE jobs.id = v.id AND jobs.state = 'running' AND jobs.leased_by = \(bind: worker)
                RETURNING jobs.id
            ), unlocked AS (
                DELETE FROM job_locks WHERE job_id IN (SELECT id FROM done) RETURNING job_id
            )
            SELECT (SELECT count(*) FROM done) AS done, (SELECT count(*) FROM unlocked) AS unlocked
            """
        ).all()
    }
}
