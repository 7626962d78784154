public import BankSyncStore
import Foundation
public import Logging
import Metrics
public import ServiceLifecycle
import Synchronization

/// Housekeeping of the queue: rescues jobs whose worker died (expired lease), prunes finished
/// jobs, and publishes queue depth. Safe to run in every process: each step is idempotent.
public struct JobMaintenance: Service {
    /// When and how much to clean.
    public struct Configuration: Sendable {
        /// How often expired leases are looked for.
        public var rescueInterval: Duration
        /// How often finished jobs are pruned and depth is measured.
        public var pruneInterval: Duration
        /// Finished jobs older than this are deleted (the guide: 7 days).
        public var retention: Duration
        /// At most this many finished jobs are kept (the guide: 1,000).
        public var keepFinished: Int

        public init(
            rescueInterval: Duration = .seconds(5), pruneInterval: Duration = .seconds(60),
            retention: Duration = .seconds(7 * 86_400), keepFinished: Int = 1_000
        ) {
            self.rescueInterval = rescueInterval
            self.pruneInterval = pruneInterval
            self.retention = retention
            self.keepFinished = keepFinished
        }
    }

    let queue: JobQueue
    let configuration: Configuration
    let logger: Logger
    private let seenDepthKeys = DepthKeys()

    public init(queue: JobQueue, configuration: Configuration = Configuration(), logger: Logger) {
        self.queue = queue
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var sincePrune = configuration.pruneInterval
            while !Task.isCancelled {
                do {
                    _ = try await rescue()
                    if sincePrune >= configuration.pruneInterval {
                        sincePrune = .zero
                        _ = try await prune()
                        try await publishDepth()
                    }
                } catch {
                    logger.warning("job maintenance failed", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: configuration.rescueInterval)
                sincePrune += configuration.rescueInterval
            }
        }
    }

    /// Retries (or discards, when out of attempts) running jobs whose lease expired.
    public func rescue() async throws -> [String] {
        let now = queue.now().millisecondsSince1970
        let rescued = try await queue.database.transaction { db in try await queue.store.rescueExpired(now: now, on: db) }
        if !rescued.isEmpty {
            Counter(label: "banksync_jobs_rescued_total").increment(by: rescued.count)
            logger.warning("rescued jobs whose worker stopped", metadata: ["count": "\(rescued.count)"])
            for queueName in Set(try await queueNames(rescued)) { queue.notifier.notify(queue: queueName) }
        }
        return rescued
    }

    /// Deletes finished jobs past retention or beyond the count kept.
    public func prune() async throws -> Int {
        let cutoff = queue.now().addingTimeInterval(-configuration.retention.seconds).millisecondsSince1970
        return try await queue.database.transaction { db in
            try await queue.store.prune(olderThan: cutoff, keep: configuration.keepFinished, on: db)
        }
    }

    /// Records `banksync_jobs_depth{queue,state}` for the unfinished states.
    public func publishDepth() async throws {
        let depth = try await queue.database.withSession { db in try await queue.store.depth(on: db) }
        var current: Set<String> = []
        for (queueName, state, count) in depth {
            current.insert("\(queueName)|\(state)")
            Gauge(label: "banksync_jobs_depth", dimensions: [("queue", queueName), ("state", state)]).record(count)
        }
        for key in seenDepthKeys.replace(with: current).subtracting(current) {
            let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
            Gauge(label: "banksync_jobs_depth", dimensions: [("queue", parts[0]), ("state", parts[1])]).record(0)
        }
    }

    private func queueNames(_ ids: [String]) async throws -> [String] {
        try await queue.database.withSession { db in
            try await db.raw("SELECT DISTINCT queue FROM jobs WHERE id IN (\(binds: ids))").all()
                .map { try $0.decode(column: "queue", as: String.self) }
        }
    }
}

/// The (queue, state) pairs last published, so a pair that empties is reset to 0.
private final class DepthKeys: Sendable {
    private let keys = Mutex<Set<String>>([])
    func replace(with new: Set<String>) -> Set<String> {
        keys.withLock { old in
            defer { old = new }
            return old
        }
    }
}

import SQLKit
