import ArgumentParser
import BankSyncServer
import BankSyncStore
import Logging
import ServiceLifecycle
import UnixSignals

/// `banksync serve`: runs the HTTP API (for now the health endpoints) until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the BankSync server.")

    @Flag(name: .long, help: "Do not apply pending migrations at start-up (fail readiness instead).")
    var noMigrate = false

    func run() async throws {
        let configuration = try await Bootstrap.configuration()
        let logger = Logger(label: "banksync")
        // The database first: a key file is only generated for a database that opened.
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
        let app = BankSyncApplication.make(configuration: configuration, store: store, logger: logger) { port in
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
                    .init(service: StartupService(migrate: !noMigrate, migrator: migrator, logger: logger)),
                    .init(service: app),
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

/// Applies migrations once the database service is running (PostgreSQL's pool needs it), and
/// refuses to go on against a schema newer than this binary. Then waits for shutdown.
struct StartupService: Service {
    let migrate: Bool
    let migrator: Migrator
    let logger: Logger

    func run() async throws {
        if migrate {
            try await migrator.migrate()
        } else {
            let version = try await migrator.currentVersion()
            if version > Migrator.latestVersion { try await migrator.ensureCompatible() }
        }
        try? await gracefulShutdown()
    }
}
