import ArgumentParser
import BankSyncEngine
import BankSyncJobs
import BankSyncServer
import BankSyncStore
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import UnixSignals

/// `banksync worker`: runs job workers (plus the wake-up listener, maintenance and the
/// scheduler) without the HTTP API, for distributed mode.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Run background job workers against the configured database.")

    @Option(help: "A queue to work; repeat for several (default: default and webhooks).") var queue: [String] = []
    @Option(help: "Jobs run at once.") var concurrency = 10
    @Option(help: "Seconds a claimed job stays ours without a heartbeat.") var leaseSeconds = 30
    @Option(help: "Milliseconds between polls when no wake-up arrives.") var pollIntervalMs = 1_000
    @Option(help: "Serve Prometheus /metrics (and /health/live) on this port of BANKSYNC_HTTP_HOST; off when absent.") var metricsPort: Int?

    func run() async throws {
        let configuration = try await Bootstrap.configuration()
        let logger = Logger(label: "banksync.worker")
        // Check the schema on a short-lived handle: the main one's pool only runs inside the group.
        try await Bootstrap.reportingErrors {
            try await Database.withDatabase(configuration.databaseURL, logger: logger) { database in
                try await Migrator(database: database, logger: logger).ensureCompatible()
                try await EngineRuntime.configureLimits(configuration.providers, database: database, logger: logger)
            }
        }
        let engineConfiguration = try Bootstrap.engineConfiguration(configuration, logger: logger)
        let database = try await Bootstrap.reportingErrors {
            try await Database.open(configuration.databaseURL, logger: logger)
        }
        let jobs = JobQueue(database: database, logger: logger)
        let runtime: EngineRuntime
        let schedules: [RecurringJob]
        do {
            let store = Store(database: database, keyring: try configuration.loadKeyring(logger: logger))
            runtime = try EngineRuntime.make(
                configuration: configuration.providers, store: store, queue: jobs, engineConfiguration: engineConfiguration, logger: logger)
            schedules = try runtime.engine.schedules()
        } catch {
            await database.close()
            throw Bootstrap.fail("cannot start the sync engine: \(error)")
        }
        var registry = JobRegistry()
        Diagnostics.register(in: &registry)
        runtime.register(into: &registry)
        let queues = queue.isEmpty ? ["default", NotificationJobs.deliverWebhook.options.queue] : queue
        let workers = queues.map { name in
            JobWorker.Configuration(
                queue: name, concurrency: name == NotificationJobs.deliverWebhook.options.queue ? configuration.webhooksConcurrency : concurrency,
                leaseDuration: .seconds(leaseSeconds), pollInterval: .milliseconds(pollIntervalMs))
        }
        var extra: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let metricsPort {
            guard (0...65_535).contains(metricsPort) else { throw Bootstrap.fail("--metrics-port \(metricsPort) is not a port") }
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            let router = Router()
            BankSyncApplication.addMetricsRoute(to: router, registry: registry)
            router.get("/health/live") { _, _ in "ok" }
            extra.append(.init(service: Application(
                router: router, configuration: .init(address: .hostname(configuration.httpHost, port: metricsPort), serverName: "banksync-worker"), logger: logger)))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: database), .init(service: runtime.lifetime)] + extra
                    + JobServices.make(
                        queue: jobs, registry: registry, schedules: schedules, worker: workers[0], additionalWorkers: Array(workers.dropFirst()), logger: logger)
                    .map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        logger.info("worker starting", metadata: ["queues": "\(queues.joined(separator: ","))", "database": "\(configuration.databaseURL)"])
        do {
            try await Bootstrap.reportingErrors { try await group.run() }
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }
}
