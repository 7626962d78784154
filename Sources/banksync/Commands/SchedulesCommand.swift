import ArgumentParser
import BankSyncEngine
import BankSyncJobs
import BankSyncStore
import Foundation
import Logging

/// `banksync schedules …`: the recurring jobs every worker's scheduler enqueues.
struct SchedulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedules", abstract: "Show or run the recurring jobs' scheduler.", subcommands: [List.self, Tick.self])

    /// The schedules the workers run (their cron expressions are the engine's; see docs/OPERATIONS.md).
    static func scheduler(_ store: Store, now: Date?) throws -> JobScheduler {
        let queue = JobQueue(database: store.database, logger: Logger(label: "banksync.schedules"), now: { now ?? Date() })
        return JobScheduler(queue: queue, schedules: try SyncEngine.schedules(SyncEngine.Configuration()), logger: Logger(label: "banksync.schedules"))
    }

    /// Each schedule with its cron expression, last tick and next fire time.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the recurring jobs with their last and next tick (UTC).")

        func run() async throws {
            try await Bootstrap.withStore { store in
                let formatter = ISO8601DateFormatter()
                for schedule in try await SchedulesCommand.scheduler(store, now: nil).status() {
                    let last = schedule.lastTick.map(formatter.string(from:)) ?? "never"
                    let next = schedule.nextFire.map(formatter.string(from:)) ?? "never"
                    print("\(schedule.name)  cron '\(schedule.cron)'  last tick \(last)  next \(next)")
                }
            }
        }
    }

    /// One scheduler pass, as every worker runs each minute. Safe beside running workers: a
    /// tick is enqueued only by the pass that advances the schedule's last tick.
    struct Tick: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one scheduler pass: enqueue every schedule whose latest fire time has not been enqueued yet.",
            discussion: """
                A schedule never seen before starts from its latest fire time without running it. \
                With --at, the pass runs as of that time instead of now (a past time enqueues nothing \
                that has already run: ticks only move forward).
                """)

        @Option(help: "Run as of this UTC time (ISO 8601, e.g. 2026-05-28T10:05:00Z) instead of now.") var at: String?

        func run() async throws {
            var now: Date?
            if let at {
                guard let parsed = ISO8601DateFormatter().date(from: at) else {
                    throw Bootstrap.fail("--at '\(at)' is not an ISO 8601 time such as 2026-05-28T10:05:00Z")
                }
                now = parsed
            }
            try await Bootstrap.withStore { store in
                let fired = try await SchedulesCommand.scheduler(store, now: now).tick()
                print(fired.isEmpty ? "nothing due" : "enqueued: \(fired.joined(separator: ", "))")
            }
        }
    }
}
