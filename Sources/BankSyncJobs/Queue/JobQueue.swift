public import BankSyncStore
import BankSyncCore
public import Foundation
public import Logging
import Metrics
public import SQLKit

/// The front of the job queue: enqueue, status, cancel.
///
/// Jobs live in the `jobs` table of the same database as the data they act on, so
/// ``enqueue(_:_:at:in:)`` can run inside a caller's transaction: the job exists only if that
/// transaction commits. Payloads are JSON; they carry ids, never secrets.
public final class JobQueue: Sendable {
    public let database: Database
    public let notifier: JobNotifier
    let store: JobStore
    let logger: Logger
    /// The queue's clock (injectable: simulations run the whole engine on it).
    public let now: @Sendable () -> Date

    /// The PostgreSQL channel that carries wake-ups; the payload is the queue name.
    static let channel = "banksync_jobs"

    public init(
        database: Database, logger: Logger, notifier: JobNotifier = JobNotifier(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.database = database
        self.notifier = notifier
        self.store = JobStore(engine: database.engine)
        self.logger = logger
        self.now = now
    }

    /// One job to enqueue, for ``enqueueMany(_:in:)``.
    public struct Request<Payload: Codable & Sendable, Output: Codable & Sendable>: Sendable {
        public var definition: JobDefinition<Payload, Output>
        public var payload: Payload
        /// Not before this time; now if nil.
        public var runAt: Date?

        public init(_ definition: JobDefinition<Payload, Output>, _ payload: Payload, runAt: Date? = nil) {
            self.definition = definition
            self.payload = payload
            self.runAt = runAt
        }
    }

    /// Enqueues one job.
    /// - Parameters:
    ///   - at: not before this time (now if nil).
    ///   - db: a caller's transaction to enqueue in; the queue's own session if nil.
    @discardableResult
    public func enqueue<Payload, Output>(
        _ definition: JobDefinition<Payload, Output>, _ payload: Payload, at: Date? = nil, in db: (any SQLDatabase)? = nil
    ) async throws -> EnqueuedJob {
        try await enqueueMany([Request(definition, payload, runAt: at)], in: db)[0]
    }

    /// Enqueues many jobs of one definition: on PostgreSQL one statement per 2,000 (a larger
    /// batch runs in one transaction, each chunk's payloads encoded while the server inserts
    /// the previous chunk), on SQLite one transaction of 1,000-row statements.
    @discardableResult
    public func enqueueMany<Payload, Output>(
        _ requests: [Request<Payload, Output>], in db: (any SQLDatabase)? = nil
    ) async throws -> [EnqueuedJob] {
        guard !requests.isEmpty else { return [] }
        let now = self.now()
        // Ids, tokens and unique keys first (cheap): the unique-key bookkeeping needs them for
        // the whole batch. Payload JSON and token hashes are made per chunk, by `build`.
        var ids: [String] = []
        var tokens: [String] = []
        var uniqueKeys: [String?] = []
        ids.reserveCapacity(requests.count)
        tokens.reserveCapacity(requests.count)
        uniqueKeys.reserveCapacity(requests.count)
        for request in requests {
            ids.append(TimeOrderedID.make(now: now))
            tokens.append(Self.makeToken())
            uniqueKeys.append(request.definition.uniqueKey?(request.payload).map { "\(request.definition.name):\($0)" })
        }
        let encoder = CompactJSONEncoder()
        // The stored form of each definition's unique-across states, made once per call.
        var finishedStates: [String: String] = [:]
        let build = { (indices: ArraySlice<Int>) throws -> [JobStore.NewJob] in
            var jobs: [JobStore.NewJob] = []
            jobs.reserveCapacity(indices.count)
            for index in indices {
                let request = requests[index]
                let options = request.definition.options
                let uniqueFinishedStates =
                    finishedStates[request.definition.name]
                    ?? {
                        let text = options.storedUniqueStates
                        finishedStates[request.definition.name] = text
                        return text
                    }()
                jobs.append(
                    JobStore.NewJob(
                        id: ids[index], name: request.definition.name, queue: options.queue, priority: options.priority,
                        payload: try encoder.encodeToString(request.payload), maxAttempts: options.maxAttempts,
                        scheduledAt: (request.runAt ?? now).millisecondsSince1970, timeoutMilliseconds: options.timeout.milliseconds,
                        uniqueKey: uniqueKeys[index], uniqueFinishedStates: uniqueFinishedStates,
                        lockKey: request.definition.lockKey?(request.payload), tokenHash: JobStore.hashToken(tokens[index])))
            }
            return jobs
        }
        // PostgreSQL NOTIFYs each queue from the insert itself (delivered at commit).
        let stored: [String]
        if let db {
            stored = try await store.insert(ids: ids, uniqueKeys: uniqueKeys, now: now.millisecondsSince1970, on: db, build: build)
        } else {
            stored = try await store.insert(ids: ids, uniqueKeys: uniqueKeys, now: now.millisecondsSince1970, in: database, build: build)
        }
        if database.engine == .sqlite {
            for queue in Set(requests.map(\.definition.options.queue)) { notifier.notify(queue: queue) }
        }
        var results: [EnqueuedJob] = []
        results.reserveCapacity(stored.count)
        var enqueued: [String: Int] = [:]
        for (index, id) in stored.enumerated() {
            let duplicate = id != ids[index]
            results.append(EnqueuedJob(id: id, accessToken: duplicate ? nil : tokens[index], isDuplicate: duplicate))
            if !duplicate { enqueued[requests[index].definition.name, default: 0] += 1 }
        }
        for (name, count) in enqueued {
            Counter(label: "banksync_jobs_enqueued_total", dimensions: [("job", name)]).increment(by: count)
        }
        return results
    }

    /// The job's status, if `token` is the access token its enqueue returned. A wrong token and
    /// an unknown id look the same (nil), so ids cannot be probed.
    public func status(id: String, token: String) async throws -> JobStatus? {
        try await database.withSession { db in
            try await store.status(id: id, tokenHash: JobStore.hashToken(token), on: db)
        }
    }

    /// Cancels a job that has not started yet.
    /// - Returns: false if the job is running, finished, or unknown.
    @discardableResult
    public func cancel(id: String) async throws -> Bool {
        try await database.withSession { db in
            try await store.cancel(id: id, now: now().millisecondsSince1970, on: db)
        }
    }

    /// Runs a discarded or cancelled job again, now, with one more attempt than it has used.
    /// - Returns: false if the job is not discarded or cancelled (or unknown).
    @discardableResult
    public func retry(id: String) async throws -> Bool {
        let now = self.now().millisecondsSince1970
        let queue = try await database.withSession { db in try await store.retry(id: id, now: now, on: db) }
        if let queue { notifier.notify(queue: queue) }
        return queue != nil
    }

    /// The newest jobs (by creation), at most `limit`, for an operator's view: their status and payload.
    public func recent(limit: Int = 1_000) async throws -> [JobSummary] {
        try await database.withSession { db in try await store.recent(limit: limit, on: db) }
    }

    /// Jobs running now or due to run (available or retryable, scheduled at or before the
    /// queue's clock), across all queues. Jobs waiting for a later time do not count.
    public func dueOrRunning() async throws -> Int {
        let now = self.now().millisecondsSince1970
        return try await database.withSession { db in
            try await db.raw(
                """
                SELECT COUNT(*) AS n FROM jobs WHERE state = 'running'
                    OR (state IN ('available', 'retryable') AND scheduled_at <= \(bind: now))
                """
            ).first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// Waits until ``dueOrRunning()`` has been 0 for `quietChecks` checks in a row (a finishing
    /// job may enqueue the next), polling every `interval`.
    /// - Returns: false if `timeout` passed first.
    @discardableResult
    public func waitUntilIdle(timeout: Duration, interval: Duration = .milliseconds(25), quietChecks: Int = 3) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        var quiet = 0
        while ContinuousClock.now < deadline {
            quiet = try await dueOrRunning() == 0 ? quiet + 1 : 0
            if quiet >= quietChecks { return true }
            try await Task.sleep(for: interval)
        }
        return false
    }

    /// `jst_` + 64 hex digits of secure randomness.
    static func makeToken() -> String { TimeOrderedID.secret(prefix: "jst_") }
}
