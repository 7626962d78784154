import BankSyncStore
import Foundation
import SQLKit

/// Every SQL statement of the job queue, the same text on SQLite and PostgreSQL except where
/// ``DatabaseEngine`` says otherwise (the claim's row locking).
struct JobStore: Sendable {
    let engine: DatabaseEngine

    /// A job to insert, fully resolved.
    struct NewJob: Sendable {
        var id: String
        var name: String
        var queue: String
        var priority: Int
        var payload: String
        var maxAttempts: Int
        var scheduledAt: Int64
        var timeoutMilliseconds: Int64
        var uniqueKey: String?
        var uniqueFinishedStates: String
        var lockKey: String?
        var tokenHash: String
    }

    static let insertColumns = [
        "id", "name", "queue", "state", "priority", "payload", "attempt", "max_attempts", "scheduled_at", "created_at",
        "timeout_ms", "unique_key", "unique_finished_states", "lock_key", "errors", "access_token_hash",
    ]

    /// Builds the rows of the jobs at some positions of a batch (payload JSON, token hash):
    /// called once per chunk, so PostgreSQL can insert one chunk while the next is built.
    typealias JobBuilder = (ArraySlice<Int>) throws -> [NewJob]

    /// Inserts jobs inside the caller's transaction: PostgreSQL one statement per
    /// ``postgresChunk``, SQLite one per 1,000. A job whose unique key is live on another job is
    /// not inserted; the other job's id is returned in its place.
    /// - Parameters:
    ///   - ids: the new jobs' ids, one per job of the batch.
    ///   - uniqueKeys: their unique keys (stored form), nil where none.
    /// - Returns: the stored id for each input, in order.
    func insert(ids: [String], uniqueKeys: [String?], now: Int64, on db: any SQLDatabase, build: JobBuilder) async throws -> [String] {
        try await insert(ids: ids, uniqueKeys: uniqueKeys) { indices in
            if engine == .postgres {
                var stored: [(String, String)] = []
                for start in stride(from: indices.startIndex, to: indices.endIndex, by: Self.postgresChunk) {
                    let chunk = try build(indices[start..<min(start + Self.postgresChunk, indices.endIndex)])
                    stored += try await insertPostgres(chunk, now: now, on: db)
                }
                return stored
            }
            return try await insertGeneric(try build(indices[...]), now: now, on: db)
        }
    }

    /// Inserts jobs on their own: PostgreSQL prepared statements on one pooled connection (one
    /// transaction when there is more than one chunk), SQLite one transaction.
    func insert(ids: [String], uniqueKeys: [String?], now: Int64, in database: Database, build: JobBuilder) async throws -> [String] {
        if engine == .postgres {
            return try await insert(ids: ids, uniqueKeys: uniqueKeys) { try await insertPostgres($0, build: build, now: now, in: database) }
        }
        return try await database.transaction { db in try await insert(ids: ids, uniqueKeys: uniqueKeys, now: now, on: db, build: build) }
    }

    /// Rows per PostgreSQL insert statement. Big enough that a round trip is a small part of it,
    /// small enough that building the next chunk overlaps the server's work on this one.
    static let postgresChunk = 2_000

    /// The unique-key bookkeeping around an insert. `write` stores the jobs at the positions
    /// given and returns (id, unique key) of the stored rows that have a unique key.
    private func insert(ids: [String], uniqueKeys: [String?], write: ([Int]) async throws -> [(String, String)]) async throws -> [String] {
        var ids = ids
        // Within one batch a repeated unique key maps to its first occurrence.
        var firstByKey: [String: Int] = [:]
        var toInsert: [Int] = []
        toInsert.reserveCapacity(ids.count)
        for index in ids.indices {
            if let key = uniqueKeys[index] {
                if let first = firstByKey[key] {
                    ids[index] = ids[first]
                    continue
                }
                firstByKey[key] = index
            }
            toInsert.append(index)
        }
        var existingByKey: [String: String] = [:]
        for (id, key) in try await write(toInsert) { existingByKey[key] = id }
        if !existingByKey.isEmpty {
            for index in toInsert {
                if let key = uniqueKeys[index], let stored = existingByKey[key] { ids[index] = stored }
            }
        }
        // Later duplicates of a key inside the batch follow what their first occurrence became.
        for index in ids.indices {
            if let key = uniqueKeys[index], let first = firstByKey[key], first != index { ids[index] = ids[first] }
        }
        return ids
    }

    private func insertGeneric(_ jobs: [NewJob], now: Int64, on db: any SQLDatabase) async throws -> [(String, String)] {
        var stored: [(String, String)] = []
        let size = max(1, min(1_000, engine.maxBindParameters / Self.insertColumns.count))
        for start in stride(from: 0, to: jobs.count, by: size) {
            let values: [[any Encodable & Sendable]] = jobs[start..<min(start + size, jobs.count)].map { j in
                [
                    j.id, j.name, j.queue, JobState.available.rawValue, j.priority, j.payload, 0, j.maxAttempts,
                    j.scheduledAt, now, j.timeoutMilliseconds, j.uniqueKey, j.uniqueFinishedStates, j.lockKey, "[]",
                    j.tokenHash,
                ]
            }
            for row in try await db.rows(JobInsert(columns: Self.insertColumns, rows: values)) {
                if let key = try row.decode(column: "unique_key", as: String?.self) {
                    stored.append((try row.decode(column: "id", as: String.self), key))
                }
            }
        }
        return stored
    }

    /// Claims up to `limit` due jobs of `queue` for `worker`, in priority order, skipping jobs
    /// whose lock key another running job holds. PostgreSQL: one statement; SQLite: one
    /// transaction of three.
    func claim(queue: String, limit: Int, worker: String, now: Int64, leaseMilliseconds: Int64, in database: Database)
        async throws -> [ClaimedJob]
    {
        if engine == .postgres {
            return try await claimPostgres(queue: queue, limit: limit, worker: worker, now: now, leaseMilliseconds: leaseMilliseconds, in: database)
        }
        return try await database.transaction { db in
            try await claimGeneric(queue: queue, limit: limit, worker: worker, now: now, leaseMilliseconds: leaseMilliseconds, on: db)
        }
    }

    /// The claim's statements on `db` (SQLite: inside the caller's transaction, so a worker can
    /// record outcomes and claim in one commit).
    func claimGeneric(queue: String, limit: Int, worker: String, now: Int64, leaseMilliseconds: Int64, on db: any SQLDatabase)
        async throws -> [ClaimedJob]
    {
        let candidates = try await db.raw(
            """
            SELECT id, name, payload, attempt, max_attempts, timeout_ms, lock_key, created_at, scheduled_at
            FROM jobs
            WHERE queue = \(bind: queue) AND state IN ('available', 'retryable') AND scheduled_at <= \(bind: now)
              AND (lock_key IS NULL OR NOT EXISTS (SELECT 1 FROM job_locks l WHERE l.lock_key = jobs.lock_key))
            ORDER BY priority, scheduled_at, id
            LIMIT \(bind: limit)\(unsafeRaw: engine.claimLockClause)
            """
        ).all()
        guard !candidates.isEmpty else { return [] }
        var chosen: [any SQLRow] = []
        var wantedLocks: [(String, String)] = []
        var seenLocks: Set<String> = []
        for row in candidates {
            if let key = try row.decode(column: "lock_key", as: String?.self) {
                guard seenLocks.insert(key).inserted else { continue }
                wantedLocks.append((key, try row.decode(column: "id", as: String.self)))
            }
            chosen.append(row)
        }
        if !wantedLocks.isEmpty {
            // Another claimer may have taken a key since the SELECT: DO NOTHING tells us.
            let got = try await db.rows(
                JobLockInsert(locks: wantedLocks)
            ).map { try $0.decode(column: "lock_key", as: String.self) }
            let granted = Set(got)
            chosen = try chosen.filter { row in
                guard let key = try row.decode(column: "lock_key", as: String?.self) else { return true }
                return granted.contains(key)
            }
        }
        guard !chosen.isEmpty else { return [] }
        let ids = try chosen.map { try $0.decode(column: "id", as: String.self) }
        try await db.raw(
            """
            UPDATE jobs SET state = 'running', attempt = attempt + 1, attempted_at = \(bind: now),
                lease_expires_at = \(bind: now + leaseMilliseconds), leased_by = \(bind: worker),
                unique_key = CASE WHEN unique_finished_states LIKE '%,running-released,%' THEN NULL ELSE unique_key END
            WHERE id IN (\(binds: ids))
            """
        ).run()
        return try chosen.map { try Self.claimedJob($0) }
    }

    /// A row read by the SQLite claim (before its attempt was counted) as a ``ClaimedJob``.
    static func claimedJob(_ row: any SQLRow) throws -> ClaimedJob {
        let created = try row.decode(column: "created_at", as: Int64.self)
        let scheduled = try row.decode(column: "scheduled_at", as: Int64.self)
        return ClaimedJob(
            id: try row.decode(column: "id", as: String.self), name: try row.decode(column: "name", as: String.self),
            payload: try row.decode(column: "payload", as: String.self),
            attempt: try row.decode(column: "attempt", as: Int.self) + 1,
            maxAttempts: try row.decode(column: "max_attempts", as: Int.self),
            timeout: .milliseconds(try row.decode(column: "timeout_ms", as: Int64.self)),
            lockKey: try row.decode(column: "lock_key", as: String?.self),
            dueAt: Date(millisecondsSince1970: max(created, scheduled)))
    }

    /// Marks many jobs completed with one statement per engine's fastest form, outside any
    /// transaction: PostgreSQL runs a prepared statement on a pooled connection.
    /// - Parameter releasingLocks: whether any of the jobs holds a lock key (false skips the
    ///   lock release on PostgreSQL).
    func complete(_ results: [Completion], releasingLocks: Bool = true, worker: String, now: Int64, in database: Database)
        async throws
    {
        guard !results.isEmpty else { return }
        if engine == .postgres {
            try await completePostgres(results, releasingLocks: releasingLocks, worker: worker, now: now, in: database)
            return
        }
        try await database.transaction { db in try await complete(results, worker: worker, now: now, on: db) }
    }

    /// Marks attempts completed and claims up to `limit` jobs of `queue`, in one commit: a
    /// worker's whole cycle when every outcome to write is a completion. PostgreSQL: one
    /// statement when no completed job holds a lock key (`releasingLocks` false), else the
    /// completion's statement and then the claim's, so the claim sees the released keys.
    /// SQLite: one transaction.
    func completeAndClaim(
        _ results: [Completion], releasingLocks: Bool, queue: String, limit: Int, worker: String, now: Int64, leaseMilliseconds: Int64,
        in database: Database
    ) async throws -> [ClaimedJob] {
        if engine == .postgres {
            if results.isEmpty || releasingLocks {
                try await complete(results, releasingLocks: releasingLocks, worker: worker, now: now, in: database)
                return try await claimPostgres(
                    queue: queue, limit: limit, worker: worker, now: now, leaseMilliseconds: leaseMilliseconds, in: database)
            }
            return try await completeAndClaimPostgres(
                results, queue: queue, limit: limit, worker: worker, now: now, leaseMilliseconds: leaseMilliseconds, in: database)
        }
        return try await database.transaction { db in
            try await complete(results, worker: worker, now: now, on: db)
            return try await claimGeneric(queue: queue, limit: limit, worker: worker, now: now, leaseMilliseconds: leaseMilliseconds, on: db)
        }
    }

    /// Marks many jobs completed on `db` (only the attempts still running under `worker`): one
    /// statement, then the lock keys of the jobs it completed released. Used inside a caller's
    /// transaction.
    func complete(_ results: [Completion], worker: String, now: Int64, on db: any SQLDatabase)
        async throws
    {
        guard !results.isEmpty else { return }
        let completed = try await db.rows(JobCompleteMany(results: results, worker: worker, now: now)).map {
            try $0.decode(column: "id", as: String.self)
        }
        // Only jobs this statement completed: a lock row of a job that did not match belongs to
        // whichever attempt of it runs now.
        guard !completed.isEmpty else { return }
        try await db.raw("DELETE FROM job_locks WHERE job_id IN (\(binds: completed))").run()
    }

    /// Records a finished attempt that did not complete.
    func settle(_ job: ClaimedJob, outcome: JobOutcome, worker: String, now: Int64, on db: any SQLDatabase) async throws {
        var state: JobState
        var scheduledAt: Int64? = nil
        var newError: JobErrorRecord? = nil
        var attemptDelta = 0
        switch outcome {
        case .completed(let result):
            try await complete([Completion(id: job.id, attempt: job.attempt, result: result)], worker: worker, now: now, on: db)
            return
        case .failed(let message, let retryAt):
            newError = JobErrorRecord(attempt: job.attempt, at: now, message: message)
            if let retryAt, job.attempt < job.maxAttempts {
                state = .retryable
                scheduledAt = retryAt.millisecondsSince1970
            } else {
                state = .discarded
            }
        case .discarded(let message):
            newError = JobErrorRecord(attempt: job.attempt, at: now, message: message)
            state = .discarded
        case .snoozed(let until):
            state = .available
            scheduledAt = until.millisecondsSince1970
            attemptDelta = -1
        case .released:
            state = .available
            scheduledAt = now
            attemptDelta = -1
        }
        let finished = JobState.finished.contains(state)
        // A finished job keeps blocking its unique key only in the states its options name.
        let uniqueKeyExpression =
            finished
            ? "CASE WHEN unique_finished_states LIKE '%,\(state.rawValue),%' THEN unique_key ELSE NULL END" : "unique_key"
        // The history is read only on the paths that add to it, so claims stay narrow.
        var errorsText: String? = nil
        if let newError {
            let errors = try await storedErrors(id: job.id, on: db) + [newError]
            errorsText = String(decoding: try JSONEncoder().encode(errors), as: UTF8.self)
        }
        let settled = try await db.raw(
            """
            UPDATE jobs SET state = \(bind: state.rawValue), attempt = attempt + \(bind: attemptDelta),
                scheduled_at = COALESCE(\(bind: scheduledAt), scheduled_at), errors = COALESCE(\(bind: errorsText), errors),
                finalized_at = \(bind: finished ? now : nil), lease_expires_at = NULL, leased_by = NULL,
                unique_key = \(unsafeRaw: uniqueKeyExpression)
            WHERE id = \(bind: job.id) AND attempt = \(bind: job.attempt) AND state = 'running' AND leased_by = \(bind: worker)
            RETURNING id
            """
        ).all()
        // The lock row, if any, is this attempt's only if the update matched.
        guard !settled.isEmpty else { return }
        try await db.raw("DELETE FROM job_locks WHERE job_id = \(bind: job.id)").run()
    }

    private func storedErrors(id: String, on db: any SQLDatabase) async throws -> [JobErrorRecord] {
        guard let text = try await db.raw("SELECT errors FROM jobs WHERE id = \(bind: id)").first()?.decode(column: "errors", as: String.self),
            text != "[]"
        else { return [] }
        return (try? JSONDecoder().decode([JobErrorRecord].self, from: Data(text.utf8))) ?? []
    }

    /// Extends the leases of the jobs a worker is running.
    func heartbeat(ids: [String], worker: String, until: Int64, on db: any SQLDatabase) async throws {
        guard !ids.isEmpty else { return }
        try await db.raw(
            """
            UPDATE jobs SET lease_expires_at = \(bind: until)
            WHERE id IN (\(binds: ids)) AND state = 'running' AND leased_by = \(bind: worker)
            """
        ).run()
    }

    /// Running jobs whose lease ran out (their worker died): retried, or discarded when their
    /// attempts are used up, with the loss in their error history.
    /// - Returns: the ids rescued.
    func rescueExpired(now: Int64, on db: any SQLDatabase) async throws -> [String] {
        let expired = try await db.raw(
            """
            SELECT id, attempt, max_attempts, errors, unique_finished_states FROM jobs
            WHERE state = 'running' AND lease_expires_at < \(bind: now)
            """
        ).all()
        var rescued: [String] = []
        for row in expired {
            let id = try row.decode(column: "id", as: String.self)
            let attempt = try row.decode(column: "attempt", as: Int.self)
            let exhausted = attempt >= (try row.decode(column: "max_attempts", as: Int.self))
            var errors = (try? JSONDecoder().decode([JobErrorRecord].self, from: Data(try row.decode(column: "errors", as: String.self).utf8))) ?? []
            errors.append(JobErrorRecord(attempt: attempt, at: now, message: "lease expired: the worker running it stopped without finishing"))
            let state: JobState = exhausted ? .discarded : .retryable
            let finishedStates = try row.decode(column: "unique_finished_states", as: String.self)
            let keepKey = !exhausted || finishedStates.contains(",discarded,")
            let errorsText = String(decoding: try JSONEncoder().encode(errors), as: UTF8.self)
            let updated = try await db.raw(
                """
                UPDATE jobs SET state = \(bind: state.rawValue), scheduled_at = \(bind: now), errors = \(bind: errorsText),
                    finalized_at = \(bind: exhausted ? now : nil), lease_expires_at = NULL, leased_by = NULL,
                    unique_key = \(unsafeRaw: keepKey ? "unique_key" : "NULL")
                WHERE id = \(bind: id) AND state = 'running' AND lease_expires_at < \(bind: now)
                RETURNING id
                """
            ).all()
            if !updated.isEmpty {
                try await db.raw("DELETE FROM job_locks WHERE job_id = \(bind: id)").run()
                rescued.append(id)
            }
        }
        return rescued
    }

    /// Cancels a job that has not started. Returns whether it was cancelled.
    func cancel(id: String, now: Int64, on db: any SQLDatabase) async throws -> Bool {
        !(try await db.raw(
            """
            UPDATE jobs SET state = 'cancelled', finalized_at = \(bind: now),
                unique_key = CASE WHEN unique_finished_states LIKE '%,cancelled,%' THEN unique_key ELSE NULL END
            WHERE id = \(bind: id) AND state IN ('available', 'retryable') RETURNING id
            """
        ).all()).isEmpty
    }

    /// The job with `id` if `tokenHash` matches its access token.
    func status(id: String, tokenHash: String, on db: any SQLDatabase) async throws -> JobStatus? {
        try await db.raw("SELECT * FROM jobs WHERE id = \(bind: id) AND access_token_hash = \(bind: tokenHash)").first().map(Self.decodeStatus)
    }

    /// The newest jobs by creation, with their payloads.
    func recent(limit: Int, on db: any SQLDatabase) async throws -> [JobSummary] {
        try await db.raw("SELECT * FROM jobs ORDER BY created_at DESC, id DESC LIMIT \(bind: limit)").all().map { row in
            JobSummary(status: try Self.decodeStatus(row), payload: try row.decode(column: "payload", as: String.self))
        }
    }

    /// Makes a discarded or cancelled job available now with one more attempt.
    /// - Returns: its queue, or nil if it is not discarded or cancelled.
    func retry(id: String, now: Int64, on db: any SQLDatabase) async throws -> String? {
        try await db.raw(
            """
            UPDATE jobs SET state = 'available', scheduled_at = \(bind: now), finalized_at = NULL, max_attempts = attempt + 1
            WHERE id = \(bind: id) AND state IN ('discarded', 'cancelled') RETURNING queue
            """
        ).first().map { try $0.decode(column: "queue", as: String.self) }
    }

    static func decodeStatus(_ row: any SQLRow) throws -> JobStatus {
        JobStatus(
            id: try row.decode(column: "id", as: String.self), name: try row.decode(column: "name", as: String.self),
            queue: try row.decode(column: "queue", as: String.self),
            state: JobState(rawValue: try row.decode(column: "state", as: String.self)) ?? .discarded,
            attempt: try row.decode(column: "attempt", as: Int.self),
            maxAttempts: try row.decode(column: "max_attempts", as: Int.self),
            createdAt: Date(millisecondsSince1970: try row.decode(column: "created_at", as: Int64.self)),
            scheduledAt: Date(millisecondsSince1970: try row.decode(column: "scheduled_at", as: Int64.self)),
            attemptedAt: try row.decode(column: "attempted_at", as: Int64?.self).map(Date.init(millisecondsSince1970:)),
            finalizedAt: try row.decode(column: "finalized_at", as: Int64?.self).map(Date.init(millisecondsSince1970:)),
            result: try row.decode(column: "result", as: String?.self),
            errors: (try? JSONDecoder().decode([JobErrorRecord].self, from: Data(try row.decode(column: "errors", as: String.self).utf8))) ?? [])
    }

    /// Deletes finished jobs finalized before `olderThan`, and beyond the newest `keep`.
    /// - Returns: how many rows were deleted.
    func prune(olderThan: Int64, keep: Int, on db: any SQLDatabase) async throws -> Int {
        var deleted = try await db.raw(
            """
            DELETE FROM jobs WHERE state IN ('completed', 'discarded', 'cancelled') AND finalized_at < \(bind: olderThan)
            RETURNING id
            """
        ).all().count
        if let cutoff = try await db.raw(
            """
            SELECT finalized_at FROM jobs WHERE state IN ('completed', 'discarded', 'cancelled')
            ORDER BY finalized_at DESC LIMIT 1 OFFSET \(bind: max(0, keep))
            """
        ).first()?.decode(column: "finalized_at", as: Int64.self) {
            deleted += try await db.raw(
                """
                DELETE FROM jobs WHERE state IN ('completed', 'discarded', 'cancelled') AND finalized_at <= \(bind: cutoff)
                RETURNING id
                """
            ).all().count
        }
        return deleted
    }

    /// Jobs per (queue, state) for the states that are not finished.
    func depth(on db: any SQLDatabase) async throws -> [(queue: String, state: String, count: Int)] {
        try await db.raw(
            """
            SELECT queue, state, count(*) AS n FROM jobs WHERE state IN ('available', 'retryable', 'running')
            GROUP BY queue, state
            """
        ).all().map {
            (try $0.decode(column: "queue", as: String.self), try $0.decode(column: "state", as: String.self),
             try $0.decode(column: "n", as: Int.self))
        }
    }

    static func hashToken(_ token: String) -> String { secretHash(token) }
}

/// `INSERT INTO jobs … ON CONFLICT (unique_key) DO UPDATE … RETURNING id, unique_key`: the
/// no-op update makes a conflicting row return the existing job's id.
struct JobInsert: SQLExpression {
    let columns: [String]
    let rows: [[any Encodable & Sendable]]

    func serialize(to serializer: inout SQLSerializer) {
        serializer.write("INSERT INTO jobs (\(columns.joined(separator: ", "))) VALUES ")
        serializer.writeBoundRows(rows)
        serializer.write(" ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL DO UPDATE SET unique_key = excluded.unique_key RETURNING id, unique_key")
    }
}

/// `INSERT INTO job_locks … ON CONFLICT DO NOTHING RETURNING lock_key`.
struct JobLockInsert: SQLExpression {
    let locks: [(String, String)]

    func serialize(to serializer: inout SQLSerializer) {
        serializer.write("INSERT INTO job_locks (lock_key, job_id) VALUES ")
        serializer.writeBoundRows(locks.map { [$0.0, $0.1] })
        serializer.write(" ON CONFLICT (lock_key) DO NOTHING RETURNING lock_key")
    }
}

/// Completes many attempts with their results in one `UPDATE … FROM (VALUES …)`, returning
/// the ids it completed. The VALUES columns are read as `column1`…`column3`, the names both
/// engines give them, and renamed so that `RETURNING id` is unambiguous.
struct JobCompleteMany: SQLExpression {
    let results: [Completion]
    let worker: String
    let now: Int64

    func serialize(to serializer: inout SQLSerializer) {
        serializer.write("UPDATE jobs SET state = 'completed', finalized_at = ")
        serializer.write(bind: now)
        serializer.write(
            """
            , result = v.result, lease_expires_at = NULL, leased_by = NULL,
            unique_key = CASE WHEN jobs.unique_finished_states LIKE '%,completed,%' THEN jobs.unique_key ELSE NULL END
            FROM (SELECT column1 AS job_id, column2 AS result, column3 AS job_attempt FROM (VALUES 
            """)
        serializer.writeBoundRows(results.map { [$0.id, $0.result, $0.attempt] })
        serializer.write(
            ") AS t) AS v WHERE jobs.id = v.job_id AND jobs.attempt = v.job_attempt AND jobs.state = 'running' AND jobs.leased_by = ")
        serializer.write(bind: worker)
        serializer.write(" RETURNING id")
    }
}
