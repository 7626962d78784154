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
    /// Pending rows settled by posted ones.
    var reconciled = 0
    /// Provider rows that could not be read and were left out.
    var skipped = 0
    /// For the SyncRun: skipped rows and their reasons, removals held back.
    var notes: [String] = []
    /// Extra log metadata (pages, restarts, window).
    var details: Logger.Metadata = [:]

    /// Counts `rows` as skipped, notes each (up to ``SyncRun/maxNotes``) and logs it with
    /// the ids only.
    mutating func skip(_ rows: [RejectedRow], logger: Logger) {
        for row in rows {
            skipped += 1
            note(row.description)
            logger.warning(
                "skipping a provider row that cannot be read",
                metadata: ["provider_transaction": "\(row.providerTransactionID ?? "-")", "provider_account": "\(row.providerAccountID ?? "-")", "reason": "\(row.reason)"])
        }
    }

    /// Notes past ``SyncRun/maxNotes`` - 1, summarised by ``summarizedNotes``.
    var omittedNotes = 0

    /// Adds a note, one line.
    mutating func note(_ text: String) {
        if notes.count < SyncRun.maxNotes - 1 { notes.append(text.replacingOccurrences(of: "\n", with: " ")) } else { omittedNotes += 1 }
    }

    /// The notes as the SyncRun keeps them: at most ``SyncRun/maxNotes``, the last counting the rest.
    var summarizedNotes: [String] { omittedNotes == 0 ? notes : notes + ["and \(omittedNotes) more"] }
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
        // The end is the start on the engine's clock plus the time the run really took.
        let started = ContinuousClock.now
        func end() -> Date {
            let elapsed = ContinuousClock.now - started
            return now.addingTimeInterval(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        do {
            let credential = ConnectionCredential(secret: try await connections.accessToken(for: connectionID), externalID: connection.providerConnectionID)
            let counts = try await body(connection, credential, logger)
            (run.added, run.modified, run.removed) = (counts.added, counts.modified, counts.removed)
            (run.reconciled, run.skipped, run.notes) = (counts.reconciled, counts.skipped, counts.summarizedNotes)
            try run.finish(.completed, at: end())
            logger.info(
                "transactions synced",
                metadata: counts.details.merging([
                    "added": "\(run.added)", "modified": "\(run.modified)", "removed": "\(run.removed)", "reconciled": "\(run.reconciled)",
                    "skipped": "\(run.skipped)",
                ]) { a, _ in a })
        } catch {
            let message = (error as? ProviderError)?.message ?? "\(error)"
            try? run.finish(.failed, at: end(), errorCode: (error as? ProviderError)?.code ?? "\(type(of: error))", errorMessage: message)
            try? await syncRuns.save(run)
            logger.warning("transaction sync failed", metadata: ["error": "\(error)"])
            throw error
        }
        try await syncRuns.save(run)
        return run
    }
}
