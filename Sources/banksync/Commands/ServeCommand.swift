import ArgumentParser
import BankSyncEngine
import BankSyncJobs
import BankSyncServer
import BankSyncStore
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import UnixSignals

/// `banksync serve`: runs the HTTP API (health and provider webhooks for now) and, in the same
/// process, the sync engine's workers, scheduler and maintenance, until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the BankSync server.")

    @Flag(name: .long, help: "Do not apply pending migrations at start-up (refuse to start on an old schema instead).")
    var noMigrate = false

    func run() async throws {
        let configuration = try await Bootstrap.configuration()
        let logger = Logger(label: "banksync")
        // Migrate on a short-lived handle first, so workers never start against an old schema.
        try await Bootstrap.reportingErrors {
            try await Database.withDatabase(configuration.databaseURL, logger: logger) { database in
                let migrator = Migrator(database: database, logger: logger)
                if noMigrate { try await migrator.ensureCompatible() } else { try await migrator.migrate() }
                try await EngineRuntime.configureLimits(configuration.providers, database: database, logger: logger)
            }
        }
        // The database before the keys: a key file is only generated for a database that opened.
        let engineConfiguration = try Bootstrap.engineConfiguration(configuration, logger: logger)
        let database = try await Bootstrap.reportingErrors {
            try await Database.open(configuration.databaseURL, logger: logger)
        }
        let store: Store
        do {
            store = try await Bootstrap.reportingErrors {
                Store(database: database, keyring: try configuration.loadKeyring(logger: logger))
            }
        } catch {
            await database.close()
            throw error
        }
        let migrator = store.migrator(logger: logger)
        // Embedded mode runs everything in this process: API, workers, scheduler, maintenance.
        let jobs = JobQueue(database: database, logger: logger)
        let runtime: EngineRuntime
        let schedules: [RecurringJob]
        do {
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
        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
        let app = BankSyncApplication.make(configuration: configuration, store: store, runtime: runtime, metrics: metrics, logger: logger) { port in
            logger.info(
                "banksync is listening",
                metadata: [
                    "address": "http://\(configuration.httpHost):\(port)", "database": "\(configuration.databaseURL)",
                ])
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: database),
                    .init(service: runtime.lifetime),
                    .init(service: StartupService(migrator: migrator, logger: logger)),
                ] + JobServices.make(
                    queue: jobs, registry: registry, schedules: schedules,
                    additionalWorkers: [EngineRuntime.webhookWorker(concurrency: configuration.webhooksConcurrency)], logger: logger).map { .init(service: $0) } + [
                    .init(service: app)
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await Bootstrap.reportingErrors { try await group.run() }
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }
}

/// Refuses to go on against a schema this binary does not know (too new, or not migrated
/// with `--no-migrate`); then waits for shutdown.
struct StartupService: Service {
    let migrator: Migrator
    let logger: Logger

    func run() async throws {
        try await migrator.ensureCompatible()
        try? await gracefulShutdown()
    }
}
