public import BankSyncStore
import Foundation
public import Logging
import PostgresNIO
public import ServiceLifecycle

/// Turns PostgreSQL `NOTIFY banksync_jobs` into in-process wake-ups, on a dedicated
/// connection (a pooled one could be handed to a query mid-LISTEN). Reconnects after a
/// failure; workers keep polling meanwhile. In embedded mode it has nothing to do.
public struct JobListener: Service {
    let queue: JobQueue
    let logger: Logger

    public init(queue: JobQueue, logger: Logger) {
        self.queue = queue
        self.logger = logger
    }

    public func run() async throws {
        guard queue.database.engine == .postgres else {
            // Embedded mode wakes workers in-process; stay up so the group does not see us end.
            try? await gracefulShutdown()
            return
        }
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    guard let connection = try await queue.database.makeDedicatedConnection(logger: logger) else { return }
                    do {
                        try await connection.listen(on: JobQueue.channel) { notifications in
                            for try await notification in notifications {
                                queue.notifier.notify(queue: notification.payload)
                            }
                        }
                    } catch {
                        try? await connection.close()
                        throw error
                    }
                    try? await connection.close()
                } catch {
                    if Task.isCancelled { return }
                    logger.warning("job wake-up listener lost its connection; reconnecting", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: .seconds(1))
            }
        }
    }
}
