public import BankSyncCore
public import BankSyncProviders
public import BankSyncStore
public import Foundation
public import Logging

/// What one sync run changed.
struct SyncCounts: Sendable {
    var added = 0
    var modified = 0
    var removed = 0
    /// Extra log metadata (pages, restarts, window).
    var details: Logger.Metadata = [:]
}

extension Store {
    /// Runs one transaction sync of `connectionID` as a ``SyncRun``: loads the connection and
    /// its decrypted credential, runs `body`, and records the outcome — completed with its
    /// counts, or failed with the provider's error code (then rethrows).
    func recordingSyncRun(
        _ connectionID: Identifier<Connection>, now: Date, logger: Logger,
        _ body: (Connection, ConnectionCredential, Logger) async throws -> SyncCounts
    ) async throws -> SyncRun {
        guard let connection = try await connections.get(connectionID) else {
            throw StoreError(.notFound, "connection \(connectionID) does not exist")
        }
        var logger = logger
        logger[metadataKey: "connection_id"] = "\(connectionID)"
        var run = SyncRun(connectionID: connectionID, kind: .transactions, startedAt: now)
        do {
            let credential = ConnectionCredential(secret: try await connections.accessToken(for: connectionID), externalID: connection.providerConnectionID)
            let counts = try await body(connection, credential, logger)
            (run.added, run.modified, run.removed) = (counts.added, counts.modified, counts.removed)
            try run.finish(.completed, at: Date())
            logger.info(
                "transactions synced",
                metadata: counts.details.merging(["added": "\(run.added)", "modified": "\(run.modified)", "removed": "\(run.removed)"]) { a, _ in a })
        } catch {
            try? run.finish(.failed, at: Date(), errorCode: (error as? ProviderError)?.code ?? "\(type(of: error))")
            try? await syncRuns.save(run)
            logger.warning("transaction sync failed", metadata: ["error": "\(error)"])
            throw error
        }
        try await syncRuns.save(run)
        return run
    }
}
