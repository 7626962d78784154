public import BankSyncStore
public import Foundation
public import Logging
public import ServiceLifecycle
import SQLKit

/// A job enqueued on a cron schedule.
public struct RecurringJob: Sendable {
    /// Unique among schedules; the key of its row in `job_schedules`.
    public let name: String
    public let cron: CronExpression
    let enqueue: @Sendable (JobQueue, any SQLDatabase, Date) async throws -> Void

    /// A schedule that enqueues `definition` with `payload` at each fire time of `cron`.
    /// - Throws: ``CronExpression/ParseError`` for a bad expression.
    public init<Payload, Output>(
        name: String, cron: String, job definition: JobDefinition<Payload, Output>, payload: Payload
    ) throws {
        self.name = name
        self.cron = try CronExpression(cron)
        var tickDefinition = definition
        // A tick's job is unique per tick in every state: a tick never runs twice, even if the
        // schedule row were lost.
        tickDefinition.options.uniqueAcrossFinished = JobState.finished
        let base = tickDefinition
        self.enqueue = { queue, db, tick in
            var definition = base
            definition.uniqueKey = { _ in "cron:\(name):\(tick.millisecondsSince1970)" }
            try await queue.enqueue(definition, payload, at: tick, in: db)
        }
    }
}

/// Enqueues recurring jobs. Every process may run one: a tick is enqueued by whichever process
/// first advances the schedule's `last_tick` (a compare-and-set in the same transaction as the
/// enqueue), so it fires once across all of them.
///
/// A schedule seen for the first time starts from its latest fire time (no run for the past).
/// After downtime, only the latest missed tick runs: one catch-up, not a storm.
public struct JobScheduler: Service {
    let queue: JobQueue
    let schedules: [RecurringJob]
    let logger: Logger

    public init(queue: JobQueue, schedules: [RecurringJob], logger: Logger) {
        self.queue = queue
        self.schedules = schedules
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    _ = try await tick()
                } catch {
                    logger.warning("scheduler tick failed", metadata: ["error": "\(error)"])
                }
                // Wake at the next minute boundary (+50 ms), when the next ticks become due.
                let now = queue.now().timeIntervalSince1970
                let next = (now / 60).rounded(.down) * 60 + 60.05
                try await Task.sleep(for: .milliseconds(Int64((next - now) * 1000)))
            }
        }
    }

    /// Enqueues every schedule whose latest fire time is newer than its last recorded tick.
    /// - Returns: the names of the schedules that fired.
    @discardableResult
    public func tick() async throws -> [String] {
        let now = queue.now()
        var fired: [String] = []
        for schedule in schedules {
            guard let due = schedule.cron.previous(atOrBefore: now) else { continue }
            let dueMilliseconds = due.millisecondsSince1970
            let didFire = try await queue.database.transaction { db -> Bool in
                let created = try await db.raw(
                    """
                    INSERT INTO job_schedules (name, last_tick) VALUES (\(bind: schedule.name), \(bind: dueMilliseconds))
                    ON CONFLICT (name) DO NOTHING RETURNING name
                    """
                ).all()
                if !created.isEmpty { return false }  // first sight: start from now
                let advanced = try await db.raw(
                    """
                    UPDATE job_schedules SET last_tick = \(bind: dueMilliseconds)
                    WHERE name = \(bind: schedule.name) AND last_tick < \(bind: dueMilliseconds) RETURNING name
                    """
                ).all()
                guard !advanced.isEmpty else { return false }
                try await schedule.enqueue(queue, db, due)
                return true
            }
            if didFire {
                fired.append(schedule.name)
                logger.info("recurring job enqueued", metadata: ["schedule": "\(schedule.name)", "tick": "\(due)"])
            }
        }
        return fired
    }

    /// Where one schedule stands: its last enqueued tick (nil before any process saw it) and
    /// its next fire time after `now`.
    public struct ScheduleStatus: Sendable, Equatable {
        public let name: String
        public let cron: String
        public let lastTick: Date?
        public let nextFire: Date?
    }

    /// Every schedule's last tick (from `job_schedules`) and next fire time, in the order given.
    public func status() async throws -> [ScheduleStatus] {
        let rows = try await queue.database.withSession { db in
            try await db.raw("SELECT name, last_tick FROM job_schedules").all()
        }
        var lastTicks: [String: Int64] = [:]
        for row in rows { lastTicks[try row.decode(column: "name", as: String.self)] = try row.decode(column: "last_tick", as: Int64.self) }
        let now = queue.now()
        return schedules.map { schedule in
            ScheduleStatus(
                name: schedule.name, cron: schedule.cron.text, lastTick: lastTicks[schedule.name].map(Date.init(millisecondsSince1970:)),
                nextFire: schedule.cron.next(after: now))
        }
    }
}
