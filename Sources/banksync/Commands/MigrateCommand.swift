import ArgumentParser
import BankSyncServer
import BankSyncStore
import Logging

/// `banksync migrate`: brings the database schema up to this binary's version.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply pending schema migrations to the configured database.")

    func run() async throws {
        let configuration = try await Bootstrap.configuration()
        let logger = Logger(label: "banksync.migrate")
        try await Bootstrap.reportingErrors {
            try await Database.withDatabase(configuration.databaseURL, logger: logger) { database in
                let migrator = Migrator(database: database, logger: logger)
                let applied = try await migrator.migrate()
                let version = try await migrator.currentVersion()
                print(
                    applied.isEmpty
                        ? "schema is up to date at version \(version) (\(configuration.databaseURL))"
                        : "applied migrations \(applied.map(String.init).joined(separator: ", ")); schema is at version \(version) (\(configuration.databaseURL))"
                )
            }
        }
    }
}
