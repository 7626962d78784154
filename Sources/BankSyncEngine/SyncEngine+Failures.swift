public import BankSyncCore
import BankSyncJobs
import BankSyncProviders
import BankSyncStore
import Foundation
import Logging
import Metrics

extension SyncEngine {
    /// Which of the connection's next times a successful job moves forward.
    enum Reschedule {
        case none
        /// Balances were read: the next balance-only refresh moves.
        case balances
        /// Transactions (and balances) were synced: both move.
        case transactions
    }

    /// Runs `body` for a connection job: loads the connection and its credential, marks it
    /// `syncing` for the duration, marks it healthy and reschedules it on success, and applies
    /// the failure policy otherwise.
    ///
    /// - Parameter requireSyncable: skip (successfully) when the connection is in a state a sync
    ///   may not start from (it needs the user, or was disconnected).
    func guarded(
        _ id: Identifier<Connection>, _ context: JobContext, requireSyncable: Bool, reschedules: Reschedule = .none,
        _ body: (Connection, ConnectionCredential, any BankingProvider) async throws -> SyncJobResult
    ) async throws -> SyncJobResult {
        guard var connection = try await store.connections.get(id) else {
            // Deleted while the job waited: nothing to do, nothing to retry.
            return SyncJobResult(outcome: "skipped", detail: "connection \(id) does not exist")
        }
        var logger = context.logger
        logger[metadataKey: "connection_id"] = "\(id)"
        logger[metadataKey: "provider"] = "\(connection.provider.rawValue)"
        // A connection left in `syncing` by a killed worker is taken as it was before.
        let before: ConnectionStatus = connection.status == .syncing ? (connection.errorCount > 0 ? .error : .connected) : connection.status
        let syncable = before.isSyncable
        if requireSyncable && !syncable {
            logger.info("job skipped: the connection cannot sync now", metadata: ["status": "\(before.rawValue)"])
            return SyncJobResult(outcome: "skipped", detail: "connection is \(before.rawValue)")
        }
        let client = try provider(connection.provider)
        if syncable && connection.status != .syncing {
            try connection.setStatus(.syncing)
            if connection.syncState != .inProgress { try connection.setSyncState(.inProgress) }
            connection.updatedAt = now
            try await store.connections.update(connection)
        }
        Counter(label: "banksync_sync_attempts_total", dimensions: [("provider", connection.provider.rawValue), ("job", context.name)]).increment()
        let result: SyncJobResult
        do {
            let credential = try await credential(connection)
            result = try await body(connection, credential, client)
        } catch {
            Counter(label: "banksync_sync_failures_total", dimensions: [("provider", connection.provider.rawValue), ("job", context.name)]).increment()
            // Bookkeeping must land even when the job's task was cancelled (a timeout).
            let engine = self
            let outcome = await Task { try await engine.settleFailure(error, connection: id, before: before, context: context, logger: logger) }.result
            switch outcome {
            case .success: throw error
            case .failure(let control): throw control
            }
        }
        try await markHealthy(id, before: before, reschedules: reschedules)
        return result
    }

    /// After a job's success: `connected`, errors cleared, next times moved by the plan.
    func markHealthy(_ id: Identifier<Connection>, before: ConnectionStatus, reschedules: Reschedule) async throws {
        guard var connection = try await store.connections.get(id) else { return }
        let now = self.now
        if connection.status == .syncing || connection.status == .error || connection.status == .pendingRefresh {
            try connection.setStatus(.connected)
        }
        if connection.syncState == .inProgress { try connection.setSyncState(.completed) }
        connection.errorCode = nil
        connection.errorCount = 0
        connection.recoveryAttempts = 0
        if reschedules != .none {
            let plan = try await plan(for: connection)
            connection.nextBalanceSyncAt = now.addingTimeInterval(plan.balanceInterval)
            if reschedules == .transactions {
                connection.nextSyncAt = now.addingTimeInterval(plan.transactionInterval)
                connection.lastSyncedAt = connection.lastSyncedAt ?? now
            } else if connection.nextSyncAt == nil && connection.lastSyncedAt != nil {
                connection.nextSyncAt = now.addingTimeInterval(plan.transactionInterval)
            }
            connection.scheduleNote = plan.note
        }
        connection.updatedAt = now
        try await store.connections.update(connection)
    }

    /// The failure policy. Records what happened on the connection, then returns to rethrow the
    /// original error (a retry with the job's backoff) or throws the ``JobControl`` to use.
    func settleFailure(_ error: any Error, connection id: Identifier<Connection>, before: ConnectionStatus, context: JobContext, logger: Logger) async throws {
        guard var connection = try await store.connections.get(id) else { throw JobControl.discard(reason: "connection \(id) was deleted") }
        let now = self.now
        let providerError = error as? ProviderError
        var metadata: Logger.Metadata = ["error": "\(error)", "attempt": "\(context.attempt)/\(context.maxAttempts)"]
        if let request = providerError?.requestID { metadata["provider_request_id"] = "\(request)" }
        switch providerError?.kind {
        case .rateLimited(let until), .quotaExhausted(let until):
            // Not a failure of the connection: put it back as it was and wait for the reset.
            if connection.status == .syncing { try connection.setStatus(before) }
            if connection.syncState == .inProgress { try connection.setSyncState(.failed) }
            connection.updatedAt = now
            try await store.connections.update(connection)
            let wait = max(1, (until ?? now.addingTimeInterval(60)).timeIntervalSince(now))
            logger.info("provider limit reached; job snoozed", metadata: metadata.merging(["wait_s": "\(Int(wait))"]) { a, _ in a })
            throw JobControl.snooze(.milliseconds(Int64(wait * 1000)))
        case .reauthRequired:
            try await needsUser(id, status: .requiresReauth, code: providerError?.code ?? "reauth_required")
            logger.warning("the connection needs the user to log in again", metadata: metadata)
            throw JobControl.discard(reason: "\(error)")
        case .invalidToken:
            try await needsUser(id, status: .revoked, code: providerError?.code ?? "invalid_token")
            logger.warning("the provider no longer accepts the connection's token", metadata: metadata)
            throw JobControl.discard(reason: "\(error)")
        case .consentExpired:
            try await needsUser(id, status: .expired, code: providerError?.code ?? "consent_expired")
            logger.warning("the connection's consent has ended", metadata: metadata)
            throw JobControl.discard(reason: "\(error)")
        default:
            let retryable = providerError.map(\.isRetryable) ?? !(error is JobControl)
            let exhausted = !retryable || context.attempt >= context.maxAttempts
            if connection.status != .error { try connection.setStatus(.error) }
            if connection.syncState == .inProgress { try connection.setSyncState(.failed) }
            connection.errorCode = providerError?.code ?? providerError.map { "\($0.kind)" } ?? "\(type(of: error))"
            connection.errorCount += 1
            connection.updatedAt = now
            if !exhausted {
                try await store.connections.update(connection)
                logger.warning("sync job failed; it will retry", metadata: metadata)
                return
            }
            // Out of attempts (or retrying cannot help): stop scheduling and start recovery.
            connection.nextSyncAt = nil
            connection.nextBalanceSyncAt = nil
            connection.recoveryAttempts = 0
            let at = now.addingTimeInterval(configuration.recoveryDelays.first ?? 900)
            try await store.database.transaction { [connection] db in
                try await store.connections.update(connection, on: db)
                try await queue.enqueue(SyncJobs.connectionRecovery, RecoveryJob(connectionID: id, attempt: 1), at: at, in: db)
            }
            logger.error("sync job gave up; connection recovery scheduled", metadata: metadata.merging(["recovery_at": "\(at)"]) { a, _ in a })
            throw JobControl.discard(reason: "\(error)")
        }
    }

    /// Moves a connection to a state only the user can leave (re-link), stops its schedule, and
    /// tells the user once per episode (`connection.requires_reauth`, deduplicated).
    func needsUser(_ id: Identifier<Connection>, status: ConnectionStatus, code: String) async throws {
        guard var connection = try await store.connections.get(id) else { return }
        if connection.status == status && connection.nextSyncAt == nil { return }
        if connection.status != status { try connection.setStatus(status) }
        if connection.syncState == .inProgress { try connection.setSyncState(.failed) }
        connection.errorCode = code
        connection.nextSyncAt = nil
        connection.nextBalanceSyncAt = nil
        connection.updatedAt = now
        let event = Event(
            userID: connection.userID, connectionID: id, type: "connection.requires_reauth",
            payload: .object([
                ("version", .int(1)), ("connection_id", .string(id.rawValue)), ("status", .string(status.rawValue)), ("reason", .string(code)),
            ]),
            dedupeKey: "connection.requires_reauth:\(id):\(episode(connection))", createdAt: now)
        try await store.database.transaction { [connection] db in
            try await store.connections.update(connection, on: db)
            try await notify(event, on: db)
        }
    }
}
