import BankSyncStore
import Foundation
import PostgresNIO
import SQLKit

/// PostgreSQL forms of the three hot statements. Each is one round trip: arrays bound as
/// `unnest(…)` instead of thousands of scalar binds, and data-modifying CTEs where SQLite
/// needs several statements. SQLite runs the generic forms in `JobStore.swift` (no network,
/// so extra statements cost little there).
extension JobStore {
    /// Inserts jobs with one statement on the caller's connection (inside its transaction).
    /// - Returns: (id, unique key) of the stored rows that have a unique key.
    func insertPostgres(_ jobs: [NewJob], now: Int64, on db: any SQLDatabase) async throws -> [(String, String)] {
        guard !jobs.isEmpty else { return [] }
        if jobs.allSatisfy({ $0.uniqueKey == nil }) {
            _ = try await db.rows(PositionalSQL(sql: PlainInsertStatement.sql, binds: PlainInsertStatement(jobs: jobs, now: now).values))
            return []
        }
        let statement = InsertStatement(jobs: jobs, now: now)
        return try await db.rows(PositionalSQL(sql: InsertStatement.sql, binds: statement.values)).map {
            (try $0.decode(column: "id", as: String.self), try $0.decode(column: "unique_key", as: String.self))
        }
    }

    /// Inserts the jobs at `indices` with prepared statements on one pooled connection, a chunk
    /// of ``postgresChunk`` at a time. With more than one chunk they run in one transaction and
    /// each chunk is built (payload JSON, token hashes) while the server inserts the previous
    /// one, so the client's work and the server's overlap instead of adding up.
    func insertPostgres(_ indices: [Int], build: JobBuilder, now: Int64, in database: Database) async throws -> [(String, String)] {
        guard !indices.isEmpty else { return [] }
        if indices.count <= Self.postgresChunk {
            let jobs = try build(indices[...])
            return try await database.withPostgresConnection { try await Self.execute(jobs, now: now, on: $0) } ?? []
        }
        return try await database.withPostgresConnection { connection in
            try await connection.query("BEGIN", logger: connection.logger)
            do {
                var stored: [(String, String)] = []
                var start = indices.startIndex
                var next = try build(indices[start..<min(start + Self.postgresChunk, indices.endIndex)])
                while true {
                    let jobs = next
                    start += Self.postgresChunk
                    async let running = Self.execute(jobs, now: now, on: connection)
                    let more = start < indices.endIndex
                    if more { next = try build(indices[start..<min(start + Self.postgresChunk, indices.endIndex)]) }
                    stored += try await running
                    if !more { break }
                }
                try await connection.query("COMMIT", logger: connection.logger)
                return stored
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: connection.logger)
                throw error
            }
        } ?? []
    }

    /// One chunk through the prepared insert: without ON CONFLICT and RETURNING when no job of
    /// the chunk has a unique key (a speculative insert per row costs the server ~15 %).
    static func execute(_ jobs: [NewJob], now: Int64, on connection: PostgresConnection) async throws -> [(String, String)] {
        if jobs.allSatisfy({ $0.uniqueKey == nil }) {
            for try await _ in try await connection.execute(PlainInsertStatement(jobs: jobs, now: now), logger: connection.logger) {}
            return []
        }
        var rows: [(String, String)] = []
        for try await row in try await connection.execute(InsertStatement(jobs: jobs, now: now), logger: connection.logger) { rows.append(row) }
        return rows
    }

    /// Claims with one prepared statement: lock candidate rows (SKIP LOCKED), take their lock
    /// keys (ON CONFLICT DO NOTHING), mark the winners running.
    func claimPostgres(queue: String, limit: Int, worker: String, now: Int64, leaseMilliseconds: Int64, in database: Database)
        async throws -> [ClaimedJob]
    {
        let statement = ClaimStatement(queue: queue, limit: Int64(limit), worker: worker, now: now, leaseUntil: now + leaseMilliseconds)
        return try await database.withPostgresConnection { connection in
            var jobs: [ClaimedJob] = []
            for try await batch in try await connection.execute(statement, logger: connection.logger) { jobs += batch }
            return jobs
        } ?? []
    }

    /// Completes attempts that hold no lock key and claims up to `limit` jobs with one prepared
    /// statement (``CompleteAndClaimStatement``).
    func completeAndClaimPostgres(
        _ results: [Completion], queue: String, limit: Int, worker: String, now: Int64, leaseMilliseconds: Int64, in database: Database
    ) async throws -> [ClaimedJob] {
        let statement = CompleteAndClaimStatement(
            claim: ClaimStatement(queue: queue, limit: Int64(limit), worker: worker, now: now, leaseUntil: now + leaseMilliseconds),
            ids: results.map(\.id), results: results.map { $0.result ?? "" }, attempts: results.map { Int64($0.attempt) })
        return try await database.withPostgresConnection { connection in
            var jobs: [ClaimedJob] = []
            for try await batch in try await connection.execute(statement, logger: connection.logger) { jobs += batch }
            return jobs
        } ?? []
    }

    /// Completes many jobs and releases their lock keys with one prepared statement (without
    /// the lock release when none of them holds a lock key: most jobs do not, and the release
    /// hashes the batch and probes `job_locks`).
    func completePostgres(_ results: [Completion], releasingLocks: Bool, worker: String, now: Int64, in database: Database)
        async throws
    {
        let ids = results.map(\.id)
        let texts = results.map { $0.result ?? "" }
        let attempts = results.map { Int64($0.attempt) }
        _ = try await database.withPostgresConnection { connection in
            if releasingLocks {
                let statement = CompleteStatement(ids: ids, results: texts, attempts: attempts, worker: worker, now: now)
                for try await _ in try await connection.execute(statement, logger: connection.logger) {}
            } else {
                let statement = CompleteWithoutLocksStatement(ids: ids, results: texts, attempts: attempts, worker: worker, now: now)
                for try await _ in try await connection.execute(statement, logger: connection.logger) {}
            }
        }
    }
}

/// The insert on PostgreSQL: twelve arrays through `unnest`, whatever the batch size, and one
/// NOTIFY per queue in the same statement (delivered at commit). Empty strings stand for NULL
/// in the nullable arrays (no job has an empty unique or lock key). Only rows with a unique key
/// come back: the caller needs them to map duplicates to the existing job.
struct InsertStatement: JobInsertStatement {
    static let name = "banksync_jobs_insert_v2"
    static let sql = """
        WITH inserted AS (
            INSERT INTO jobs (id, name, queue, state, priority, payload, attempt, max_attempts, scheduled_at, created_at,
                timeout_ms, unique_key, unique_finished_states, lock_key, errors, access_token_hash)
            SELECT t.id, t.name, t.queue, 'available', t.priority, t.payload, 0, t.max_attempts, t.scheduled_at,
                $1, t.timeout_ms, NULLIF(t.unique_key, ''), t.finished_states, NULLIF(t.lock_key, ''), '[]', t.hash
            FROM unnest($2::text[], $3::text[], $4::text[], $5::int8[], $6::text[], $7::int8[], $8::int8[], $9::int8[],
                $10::text[], $11::text[], $12::text[], $13::text[])
                AS t(id, name, queue, priority, payload, max_attempts, scheduled_at, timeout_ms, unique_key,
                     finished_states, lock_key, hash)
            ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL DO UPDATE SET unique_key = excluded.unique_key
            RETURNING id, unique_key, queue
        ), notified AS (
            SELECT pg_notify($14, q.queue) FROM (SELECT DISTINCT queue FROM inserted) AS q
        )
        SELECT id, unique_key FROM inserted, (SELECT count(*) FROM notified) AS n WHERE unique_key IS NOT NULL
        """
    typealias Row = (String, String)

    let jobs: [JobStore.NewJob]
    let now: Int64

    /// The bound values in `$1…$14` order.
    var parameters: [InsertParameter] { InsertParameter.jobColumns(jobs, now: now, withUniqueKeys: true) }

    func decodeRow(_ row: PostgresRow) throws -> (String, String) { try row.decode((String, String).self) }
}

/// The insert for jobs without unique keys: nothing can conflict (a NULL unique key never
/// does) and nothing needs to come back, so a plain INSERT; the queues to wake are bound by
/// the client instead of read back from the inserted rows.
struct PlainInsertStatement: JobInsertStatement {
    static let name = "banksync_jobs_insert_plain_v1"
    static let sql = """
        WITH inserted AS (
            INSERT INTO jobs (id, name, queue, state, priority, payload, attempt, max_attempts, scheduled_at, created_at,
                timeout_ms, unique_key, unique_finished_states, lock_key, errors, access_token_hash)
            SELECT t.id, t.name, t.queue, 'available', t.priority, t.payload, 0, t.max_attempts, t.scheduled_at,
                $1, t.timeout_ms, NULL, t.finished_states, NULLIF(t.lock_key, ''), '[]', t.hash
            FROM unnest($2::text[], $3::text[], $4::text[], $5::int8[], $6::text[], $7::int8[], $8::int8[], $9::int8[],
                $10::text[], $11::text[], $12::text[])
                AS t(id, name, queue, priority, payload, max_attempts, scheduled_at, timeout_ms, finished_states, lock_key, hash)
        )
        SELECT pg_notify($13, q) FROM unnest($14::text[]) AS q
        """
    typealias Row = ()

    let jobs: [JobStore.NewJob]
    let now: Int64

    /// The bound values in `$1…$14` order: the jobs' columns, then the queues to wake.
    var parameters: [InsertParameter] {
        InsertParameter.jobColumns(jobs, now: now, withUniqueKeys: false) + [.texts(Array(Set(jobs.map(\.queue))).sorted())]
    }

    func decodeRow(_ row: PostgresRow) throws {}
}

/// A statement written with PostgreSQL's `$n` placeholders, run through SQLKit: each `$n`
/// is serialized as a bind of `binds[n - 1]`. Lets a prepared statement's text run unchanged
/// inside a caller's SQLKit transaction.
struct PositionalSQL: SQLExpression {
    let sql: String
    let binds: [any Encodable & Sendable]

    func serialize(to serializer: inout SQLSerializer) {
        var text = Substring(sql)
        while let dollar = text.firstIndex(of: "$") {
            serializer.write(String(text[..<dollar]))
            let digits = text[text.index(after: dollar)...].prefix(while: \.isASCII).prefix(while: \.isNumber)
            if let position = Int(digits), position >= 1, position <= binds.count {
                serializer.write(bind: binds[position - 1])
                text = text[digits.endIndex...]
            } else {
                serializer.write("$")
                text = text[text.index(after: dollar)...]
            }
        }
        serializer.write(String(text))
    }
}

/// The claim on PostgreSQL, prepared once per pooled connection: the CTE's planning is most of
/// a small batch's cost.
///
/// The UPDATE finds its rows by `ctid` (a TID scan), not by id through the primary key: each
/// candidate row is locked by this statement (FOR UPDATE), so its version cannot change before
/// the UPDATE reaches it, and the TID scan saves a B-tree descent per claimed job (a claim of
/// 100 ran ~15 % faster under four concurrent claimers in pgbench). It names them as
/// `ctid = ANY (ARRAY(…))`, not as a join with `chosen`: the array makes it a TID scan whatever
/// the planner estimates. As a join, the generic plan (which estimates a `LIMIT $3` at a tenth
/// of the table) was a hash join over a sequential scan of all of `jobs`; PostgreSQL kept
/// choosing custom plans, but only because that plan cost more. From asyncpg the array form
/// drained 7–15 % faster (less to plan per claim).
///
/// The claimed jobs come back as one row of eight arrays (`array_agg` over the UPDATE's rows,
/// all in one aggregation, so their elements line up), read straight from PostgreSQL's binary
/// array format: a row per job cost the worker a message, a row object and a cell iterator each,
/// ~8 % of its CPU in a drain of no-op jobs. No job claimed gives NULLs.
struct ClaimStatement: PostgresPreparedStatement {
    static let name = "banksync_jobs_claim_v5"
    static let sql = """
        WITH candidates AS (
            SELECT id, lock_key, ctid FROM jobs
            WHERE queue = $1 AND state IN ('available', 'retryable') AND scheduled_at <= $2
              AND (lock_key IS NULL OR NOT EXISTS (SELECT 1 FROM job_locks l WHERE l.lock_key = jobs.lock_key))
            ORDER BY priority, scheduled_at, id
            LIMIT $3
            FOR UPDATE SKIP LOCKED
        ), locked AS (
            INSERT INTO job_locks (lock_key, job_id)
            SELECT DISTINCT ON (lock_key) lock_key, id FROM candidates WHERE lock_key IS NOT NULL ORDER BY lock_key, id
            ON CONFLICT (lock_key) DO NOTHING
            RETURNING job_id
        ), chosen AS (
            SELECT ctid FROM candidates WHERE lock_key IS NULL
            UNION ALL
            SELECT c.ctid FROM locked JOIN candidates c ON c.id = locked.job_id
        ), claimed AS (
            UPDATE jobs SET state = 'running', attempt = jobs.attempt + 1, attempted_at = $2, lease_expires_at = $5, leased_by = $4,
                unique_key = CASE WHEN jobs.unique_finished_states LIKE '%,running-released,%' THEN NULL ELSE jobs.unique_key END
            WHERE jobs.ctid = ANY (ARRAY(SELECT ctid FROM chosen))
            RETURNING jobs.id, jobs.name, jobs.payload, jobs.attempt::int8 AS attempt, jobs.max_attempts::int8 AS max_attempts,
                jobs.timeout_ms::int8 AS timeout_ms, jobs.lock_key, GREATEST(jobs.created_at, jobs.scheduled_at)::int8 AS due
        )
        SELECT array_agg(id), array_agg(name), array_agg(payload), array_agg(attempt), array_agg(max_attempts),
            array_agg(timeout_ms), array_agg(lock_key), array_agg(due)
        FROM claimed
        """
    typealias Row = [ClaimedJob]

    var queue: String
    var limit: Int64
    var worker: String
    var now: Int64
    var leaseUntil: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 5)
        bindings.append(queue)
        bindings.append(now)
        bindings.append(limit)
        bindings.append(worker)
        bindings.append(leaseUntil)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> [ClaimedJob] {
        guard let jobs = Self.readArrays(row) else {
            throw ClaimDecodingError(columns: row.map { "\($0.columnName) \($0.dataType) \($0.format)" })
        }
        return jobs
    }

    /// The jobs from the row's eight arrays, or nil if a cell is not the binary array the
    /// statement asks for (PostgresNIO asks for binary results) or the arrays do not line up.
    static func readArrays(_ row: PostgresRow) -> [ClaimedJob]? {
        var cells = row.makeIterator()
        func array(_ type: PostgresDataType) -> BinaryArray?? {
            guard let cell = cells.next(), cell.format == .binary else { return nil }
            guard let bytes = cell.bytes else { return .some(nil) }  // NULL: nothing claimed
            guard let array = BinaryArray(bytes), array.elementType == type else { return nil }
            return .some(array)
        }
        guard let ids = array(.text), let names = array(.text), let payloads = array(.text), let attempts = array(.int8),
            let maxAttempts = array(.int8), let timeouts = array(.int8), let lockKeys = array(.text), let dues = array(.int8)
        else { return nil }
        guard var ids, var names, var payloads, var attempts, var maxAttempts, var timeouts, var lockKeys, var dues else {
            return []
        }
        let count = ids.count
        guard [names, payloads, attempts, maxAttempts, timeouts, lockKeys, dues].allSatisfy({ $0.count == count }) else { return nil }
        var jobs: [ClaimedJob] = []
        jobs.reserveCapacity(count)
        for _ in 0..<count {
            guard let id = ids.nextText() ?? nil, let name = names.nextText() ?? nil, let payload = payloads.nextText() ?? nil,
                let attempt = attempts.nextInt64() ?? nil, let maxAttempt = maxAttempts.nextInt64() ?? nil,
                let timeout = timeouts.nextInt64() ?? nil, let lockKey = lockKeys.nextText(), let due = dues.nextInt64() ?? nil
            else { return nil }
            jobs.append(ClaimedJob(
                id: id, name: name, payload: payload, attempt: Int(attempt), maxAttempts: Int(maxAttempt),
                timeout: .milliseconds(timeout), lockKey: lockKey, dueAt: Date(millisecondsSince1970: due)))
        }
        return jobs
    }
}

/// A claim's result that is not the eight binary arrays the statement returns.
struct ClaimDecodingError: Error, CustomStringConvertible {
    let columns: [String]
    var description: String { "the claim's result is not eight binary arrays: \(columns.joined(separator: ", "))" }
}

/// A one-dimensional array in PostgreSQL's binary format, read element by element: dimensions,
/// a has-nulls flag, the element type, the length and lower bound, then each element as a
/// 32-bit length (-1 for NULL) and its bytes.
struct BinaryArray {
    let elementType: PostgresDataType
    let count: Int
    private var buffer: ByteBuffer

    init?(_ bytes: ByteBuffer) {
        var buffer = bytes
        guard let (dimensions, _, element) = buffer.readMultipleIntegers(as: (Int32, Int32, UInt32).self) else { return nil }
        elementType = PostgresDataType(element)
        switch dimensions {
        case 0: count = 0
        case 1:
            guard let (length, _) = buffer.readMultipleIntegers(as: (Int32, Int32).self), length >= 0 else { return nil }
            count = Int(length)
        default: return nil
        }
        self.buffer = buffer
    }

    /// The next element's bytes; `.some(nil)` for NULL, nil past the end or on a bad length.
    private mutating func next() -> ByteBuffer?? {
        guard let length = buffer.readInteger(as: Int32.self) else { return nil }
        if length == -1 { return .some(nil) }
        guard length >= 0, let slice = buffer.readSlice(length: Int(length)) else { return nil }
        return .some(slice)
    }

    /// The next element as text (UTF-8); `.some(nil)` for NULL.
    mutating func nextText() -> String?? {
        guard let element = next() else { return nil }
        return .some(element.map { String(buffer: $0) })
    }

    /// The next element as an `int8`; `.some(nil)` for NULL.
    mutating func nextInt64() -> Int64?? {
        guard let element = next() else { return nil }
        guard let bytes = element else { return .some(nil) }
        guard bytes.readableBytes == 8, let value = bytes.getInteger(at: bytes.readerIndex, as: Int64.self) else { return nil }
        return .some(value)
    }
}

/// The completion's UPDATE: many attempts at once through `unnest`, only those still running
/// under the worker (given the placeholders of the ids, the results with "" for none, the
/// worker, now, and the attempts: one that outlived its lease must not complete the attempt
/// that runs now).
///
/// The attempt is compared as `jobs.attempt - v.attempt = 0`, a filter on the id join, not as
/// a second equality: with two equality join clauses the generic plan PostgreSQL caches for
/// this prepared statement became a nested loop that rescanned the `unnest` for every running
/// job (O(n²): 9,900 rows filtered for a batch of 100, the drain fell from ~22k to ~16k jobs/s).
private func completeUpdateSQL(ids: String, results: String, worker: String, now: String, attempts: String) -> String {
    """
    UPDATE jobs SET state = 'completed', finalized_at = \(now), result = NULLIF(v.result, ''),
        lease_expires_at = NULL, leased_by = NULL,
        unique_key = CASE WHEN jobs.unique_finished_states LIKE '%,completed,%' THEN jobs.unique_key ELSE NULL END
    FROM unnest(\(ids)::text[], \(results)::text[], \(attempts)::int8[]) AS v(id, result, attempt)
    WHERE jobs.id = v.id AND jobs.attempt - v.attempt = 0 AND jobs.state = 'running' AND jobs.leased_by = \(worker)
    """
}

/// The completion's UPDATE with its parameters numbered as ``CompletionStatement`` binds them.
private let completeUpdateSQLAlone = completeUpdateSQL(ids: "$1", results: "$2", worker: "$3", now: "$4", attempts: "$5")

/// A worker's whole cycle on PostgreSQL in one statement: complete the attempts that finished
/// (none holding a lock key), then claim up to `limit` jobs. One round trip and one commit
/// instead of two of each.
///
/// Both halves see the statement's snapshot, and they touch disjoint rows: the completion only
/// rows in `running`, the claim only rows in `available` or `retryable`. Lock keys are not
/// released here (a key freed by a data-modifying CTE would not be visible to the claim's
/// `NOT EXISTS` in the same statement); batches with lock keys take the two-statement path.
///
/// Binds the claim's `$1…$5` (``ClaimStatement``), then the completion's ids `$6`, results `$7`
/// and attempts `$8`; the completion reuses the worker (`$4`) and now (`$2`).
struct CompleteAndClaimStatement: PostgresPreparedStatement {
    static let name = "banksync_jobs_complete_claim_v2"
    static let sql = "WITH done AS (\n"
        + completeUpdateSQL(ids: "$6", results: "$7", worker: "$4", now: "$2", attempts: "$8")
        + "\n), " + ClaimStatement.sql.dropFirst("WITH ".count)
    typealias Row = [ClaimedJob]

    var claim: ClaimStatement
    var ids: [String]
    var results: [String]
    var attempts: [Int64]

    func makeBindings() throws -> PostgresBindings {
        var bindings = try claim.makeBindings()
        bindings.append(TextArray(ids))
        bindings.append(TextArray(results))
        bindings.append(Int8Array(attempts))
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> [ClaimedJob] { try claim.decodeRow(row) }
}

/// The text of one kind of batched completion.
protocol CompletionSQL {
    static var name: String { get }
    static var sql: String { get }
}

/// A batch in which no job holds a lock key: the UPDATE alone.
enum CompletionWithoutLocks: CompletionSQL {
    static let name = "banksync_jobs_complete_nolocks_v3"
    static let sql = completeUpdateSQLAlone
}

/// The UPDATE, and the lock keys of the completed jobs released, in one statement.
enum CompletionReleasingLocks: CompletionSQL {
    static let name = "banksync_jobs_complete_v3"
    static let sql = "WITH done AS (\n" + completeUpdateSQLAlone + "\n    RETURNING jobs.id\n)\nDELETE FROM job_locks WHERE job_id IN (SELECT id FROM done)"
}

/// Batched completion, prepared once per pooled connection; binds `$1…$5`. Empty strings
/// stand for no result.
struct CompletionStatement<Kind: CompletionSQL>: PostgresPreparedStatement {
    static var name: String { Kind.name }
    static var sql: String { Kind.sql }
    typealias Row = Void

    var ids: [String]
    var results: [String]
    var attempts: [Int64]
    var worker: String
    var now: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 5)
        bindings.append(TextArray(ids))
        bindings.append(TextArray(results))
        bindings.append(worker)
        bindings.append(now)
        bindings.append(Int8Array(attempts))
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws {}
}

/// Completes many jobs and releases their lock keys.
typealias CompleteStatement = CompletionStatement<CompletionReleasingLocks>
/// ``CompleteStatement`` for a batch in which no job holds a lock key.
typealias CompleteWithoutLocksStatement = CompletionStatement<CompletionWithoutLocks>

/// The two insert statements: their parameters are listed once and bound either as a prepared
/// statement's (``makeBindings()``) or through SQLKit inside a caller's transaction (``values``).
protocol JobInsertStatement: PostgresPreparedStatement {
    var parameters: [InsertParameter] { get }
}

extension JobInsertStatement {
    /// The bound values for the SQLKit form of the same statement (``PositionalSQL``).
    var values: [any Encodable & Sendable] { parameters.map(\.encodable) }

    func makeBindings() throws -> PostgresBindings {
        let parameters = self.parameters
        var bindings = PostgresBindings(capacity: parameters.count)
        for parameter in parameters { parameter.append(to: &bindings) }
        return bindings
    }
}

/// One bound parameter of a job insert.
enum InsertParameter {
    case int(Int64)
    case text(String)
    case texts([String])
    case ints([Int64])

    /// The jobs' columns as arrays for `unnest`, after `now` (`$1`), ending with the NOTIFY
    /// channel. Empty strings stand for NULL in the nullable arrays.
    static func jobColumns(_ jobs: [JobStore.NewJob], now: Int64, withUniqueKeys: Bool) -> [InsertParameter] {
        var columns: [InsertParameter] = [
            .int(now), .texts(jobs.map(\.id)), .texts(jobs.map(\.name)), .texts(jobs.map(\.queue)), .ints(jobs.map { Int64($0.priority) }),
            .texts(jobs.map(\.payload)), .ints(jobs.map { Int64($0.maxAttempts) }), .ints(jobs.map(\.scheduledAt)),
            .ints(jobs.map(\.timeoutMilliseconds)),
        ]
        if withUniqueKeys { columns.append(.texts(jobs.map { $0.uniqueKey ?? "" })) }
        columns += [
            .texts(jobs.map(\.uniqueFinishedStates)), .texts(jobs.map { $0.lockKey ?? "" }), .texts(jobs.map(\.tokenHash)),
            .text(JobQueue.channel),
        ]
        return columns
    }

    var encodable: any Encodable & Sendable {
        switch self {
        case .int(let value): value
        case .text(let value): value
        case .texts(let values): values
        case .ints(let values): values
        }
    }

    func append(to bindings: inout PostgresBindings) {
        switch self {
        case .int(let value): bindings.append(value)
        case .text(let value): bindings.append(value)
        case .texts(let values): bindings.append(TextArray(values))
        case .ints(let values): bindings.append(Int8Array(values))
        }
    }
}

/// A `text[]` parameter in PostgreSQL's binary array format, written in one pass into a
/// buffer sized up front. PostgresNIO's generic `[String]` encoding dispatches per element
/// through its generic encoder and was 9 % of a batched enqueue's profile; this is the same
/// bytes: dimensions 1, no nulls, element type `text`, then length-prefixed UTF-8.
struct TextArray: PostgresNonThrowingEncodable {
    static var psqlType: PostgresDataType { .textArray }
    static var psqlFormat: PostgresFormat { .binary }

    let values: [String]

    init(_ values: [String]) { self.values = values }

    func encode<Encoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<Encoder>) {
        var size = 20
        for value in values { size += 4 + value.utf8.count }
        buffer.reserveCapacity(minimumWritableBytes: size)
        buffer.writeMultipleIntegers(Int32(1), Int32(0), PostgresDataType.text.rawValue, Int32(values.count), Int32(1))
        for var value in values {
            value.withUTF8 { bytes in
                buffer.writeInteger(Int32(bytes.count))
                buffer.writeBytes(UnsafeRawBufferPointer(bytes))
            }
        }
    }
}

/// An `int8[]` parameter in PostgreSQL's binary array format (see ``TextArray``).
struct Int8Array: PostgresNonThrowingEncodable {
    static var psqlType: PostgresDataType { .int8Array }
    static var psqlFormat: PostgresFormat { .binary }

    let values: [Int64]

    init(_ values: [Int64]) { self.values = values }

    func encode<Encoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<Encoder>) {
        buffer.reserveCapacity(minimumWritableBytes: 20 + 12 * values.count)
        buffer.writeMultipleIntegers(Int32(1), Int32(0), PostgresDataType.int8.rawValue, Int32(values.count), Int32(1))
        for value in values { buffer.writeMultipleIntegers(Int32(8), value) }
    }
}
