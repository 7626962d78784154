public import Logging
public import ServiceLifecycle

/// The services a process runs to work the queue: the wake-up listener, maintenance, the
/// scheduler, and one worker (plus one per `additionalWorkers`, for other queues). `serve` and `worker` both start these, in this order, after the
/// database service (so shutdown stops the worker first and the database last).
public enum JobServices {
    public static func make(
        queue: JobQueue, registry: JobRegistry, schedules: [RecurringJob] = [],
        worker configuration: JobWorker.Configuration = JobWorker.Configuration(), additionalWorkers: [JobWorker.Configuration] = [],
        logger: Logger
    ) -> [any Service] {
        [
            JobListener(queue: queue, logger: logger),
            JobMaintenance(queue: queue, logger: logger),
            JobScheduler(queue: queue, schedules: schedules, logger: logger),
            JobWorker(queue: queue, registry: registry, configuration: configuration, logger: logger),
        ] + additionalWorkers.map { JobWorker(queue: queue, registry: registry, configuration: $0, logger: logger) }
    }
}
