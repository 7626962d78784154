import ArgumentParser
import BankSyncCategorizer
import BankSyncEngine
import BankSyncServer
import BankSyncStore
import Foundation
import Logging
import Synchronization

/// What every command does first: read the configuration, set up logging, and turn a
/// configuration or storage error into a one-line message and exit code 2 (not a stack trace).
enum Bootstrap {
    private static let loggingReady = Mutex(false)

    static func configuration() async throws -> BankSyncConfiguration {
        do {
            let configuration = try await BankSyncConfiguration.load()
            bootstrapLogging(format: configuration.logFormat, level: configuration.logLevel)
            return configuration
        } catch let error as ConfigurationError {
            throw fail("configuration error: \(error)")
        }
    }

    static func bootstrapLogging(format: LogFormat, level: Logger.Level) {
        let first = loggingReady.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        LoggingSystem.bootstrap { label in StructuredLogHandler(label: label, format: format, level: level) }
    }

    /// The engine's settings from the configuration, with the categorizer's model loaded
    /// (`BANKSYNC_CATEGORIZER_WEIGHTS`, else the shipped one). A model that cannot be loaded
    /// stops start-up with its path and the reason: categorizing with garbage is worse.
    static func engineConfiguration(_ configuration: BankSyncConfiguration, logger: Logger) throws -> SyncEngine.Configuration {
        var engine = SyncEngine.Configuration()
        do {
            let model = try ShippedModel.load(path: configuration.categorizerWeights)
            engine.categorizer = CategoryDecider(model: model, threshold: configuration.categorizerThreshold)
            logger.info(
                "categorizer model loaded",
                metadata: ["categories": "\(model.labels.count)", "trained_rows": "\(model.info.trainingRows)", "weights": "\(configuration.categorizerWeights ?? "shipped")"])
        } catch {
            throw fail("\(error)")
        }
        engine.webhooks.addressPolicy = WebhookAddressPolicy(allowPrivateAddresses: configuration.webhooksAllowPrivateAddresses)
        engine.webhooks.attemptTimeout = .seconds(configuration.webhooksTimeoutSeconds)
        return engine
    }

    /// Runs `body` with the configured store, its schema checked (for one-shot commands).
    static func withStore(_ body: (Store) async throws -> Void) async throws {
        let configuration = try await Bootstrap.configuration()
        let logger = Logger(label: "banksync.admin")
        try await Bootstrap.reportingErrors {
            let keyring = try configuration.loadKeyring(logger: logger)
            try await Database.withDatabase(configuration.databaseURL, logger: logger) { database in
                try await Migrator(database: database, logger: logger).ensureCompatible()
                try await body(Store(database: database, keyring: keyring))
            }
        }
    }

    /// Prints `message` to standard error and returns the exit to throw.
    static func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("banksync: \(message)\n".utf8))
        return ExitCode(2)
    }

    /// Runs `body`, reporting a ``StoreError`` or ``ConfigurationError`` as one clear line.
    static func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StoreError {
            throw fail(error.message)
        } catch let error as ConfigurationError {
            throw fail("configuration error: \(error)")
        }
    }
}
