import ArgumentParser
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
