public import BankSyncCore
public import Foundation
public import SQLKit

/// Connections and their encrypted provider tokens.
///
/// The token never leaves this type in clear except through ``accessToken(for:)``, which a sync
/// job calls when it is about to use it.
public struct ConnectionRepository: Sendable {
    let database: Database
    let cipher: TokenCipher

    public init(database: Database, cipher: TokenCipher) {
        self.database = database
        self.cipher = cipher
    }

    /// Stores a new connection with its access token sealed by the active key.
    public func insert(_ connection: Connection, accessToken: String?) async throws {
        try await database.withSession { db in try await insert(connection, accessToken: accessToken, on: db) }
    }

    /// ``insert(_:accessToken:)`` inside the caller's transaction (a link stores the connection
    /// and enqueues its setup job together).
    public func insert(_ connection: Connection, accessToken: String?, on db: any SQLDatabase) async throws {
        let sealed = try accessToken.map { try cipher.seal($0, context: connection.id.rawValue) }
        try await db.raw(
            """
            INSERT INTO connections (id, user_id, provider, provider_connection_id, institution_id, institution_name,
                status, sync_state, error_code, error_count, consent_granted_at, consent_expires_at, last_synced_at,
                next_sync_at, next_balance_sync_at, recovery_attempts, schedule_note, cursor, access_token_ciphertext,
                created_at, updated_at)
            VALUES (\(bind: connection.id.rawValue), \(bind: connection.userID.rawValue),
                \(bind: connection.provider.rawValue), \(bind: connection.providerConnectionID),
                \(bind: connection.institutionID), \(bind: connection.institutionName),
                \(bind: connection.status.rawValue), \(bind: connection.syncState.rawValue),
                \(bind: connection.errorCode), \(bind: connection.errorCount),
                \(bind: connection.consentGrantedAt.milliseconds), \(bind: connection.consentExpiresAt.milliseconds),
                \(bind: connection.lastSyncedAt.milliseconds), \(bind: connection.nextSyncAt.milliseconds),
                \(bind: connection.nextBalanceSyncAt.milliseconds), \(bind: connection.recoveryAttempts),
                \(bind: connection.scheduleNote), \(bind: connection.cursor), \(bind: sealed),
                \(bind: connection.createdAt.millisecondsSince1970), \(bind: connection.updatedAt.millisecondsSince1970))
            """
        ).run()
    }

    /// Writes the connection's mutable fields (status, sync state, errors, dates, cursor).
    /// - Throws: ``StoreError`` `.notFound` if the connection does not exist.
    public func update(_ connection: Connection) async throws {
        try await database.withSession { db in try await update(connection, on: db) }
    }

    /// ``update(_:)`` on `db`, inside the caller's transaction (a sync saves its cursor with its rows).
    public func update(_ connection: Connection, on db: any SQLDatabase) async throws {
        let rows = try await db.raw(
            """
            UPDATE connections SET provider_connection_id = \(bind: connection.providerConnectionID),
                institution_id = \(bind: connection.institutionID),
                institution_name = \(bind: connection.institutionName),
                status = \(bind: connection.status.rawValue), sync_state = \(bind: connection.syncState.rawValue),
                error_code = \(bind: connection.errorCode), error_count = \(bind: connection.errorCount),
                consent_granted_at = \(bind: connection.consentGrantedAt.milliseconds),
                consent_expires_at = \(bind: connection.consentExpiresAt.milliseconds),
                last_synced_at = \(bind: connection.lastSyncedAt.milliseconds),
                next_sync_at = \(bind: connection.nextSyncAt.milliseconds),
                next_balance_sync_at = \(bind: connection.nextBalanceSyncAt.milliseconds),
                recovery_attempts = \(bind: connection.recoveryAttempts), schedule_note = \(bind: connection.scheduleNote),
                cursor = \(bind: connection.cursor),
                updated_at = \(bind: connection.updatedAt.millisecondsSince1970)
            WHERE id = \(bind: connection.id.rawValue)
            RETURNING id
            """
        ).all()
        guard !rows.isEmpty else { throw StoreError(.notFound, "connection \(connection.id) does not exist") }
    }

    /// Replaces the stored token (after a re-link), sealed with the active key.
    public func setAccessToken(_ token: String, for id: Identifier<Connection>) async throws {
        let sealed = try cipher.seal(token, context: id.rawValue)
        try await database.withSession { db in
            try await db.raw(
                "UPDATE connections SET access_token_ciphertext = \(bind: sealed) WHERE id = \(bind: id.rawValue)"
            ).run()
        }
    }

    /// The connection with `id`, or nil.
    public func get(_ id: Identifier<Connection>) async throws -> Connection? {
        try await database.withReadSession { db in
            try await db.raw("SELECT * FROM connections WHERE id = \(bind: id.rawValue)").first().map(Self.decode)
        }
    }

    /// A user's connections, oldest first.
    public func list(userID: Identifier<User>) async throws -> [Connection] {
        try await database.withReadSession { db in
            try await db.raw("SELECT * FROM connections WHERE user_id = \(bind: userID.rawValue) ORDER BY created_at, id")
                .all().map(Self.decode)
        }
    }

    /// Connections whose `next_sync_at` has come, earliest first: the scheduler's tick.
    /// Served by the partial index `connections_due`; only states a sync may start from, and
    /// `syncing` (another job of the connection is running: the sync queues behind it on the
    /// connection's lock key instead of waiting for the next tick).
    public func due(at now: Date, limit: Int) async throws -> [Connection] {
        try await database.withReadSession { db in
            try await db.raw(
                """
                SELECT * FROM connections WHERE next_sync_at IS NOT NULL AND next_sync_at <= \(bind: now.millisecondsSince1970)
                    AND status IN ('connected', 'syncing', 'pending_refresh', 'error')
                ORDER BY next_sync_at LIMIT \(bind: limit)
                """
            ).all().map(Self.decode)
        }
    }

    /// Connections whose balance-only refresh (`next_balance_sync_at`) has come, earliest first.
    public func balancesDue(at now: Date, limit: Int) async throws -> [Connection] {
        try await database.withReadSession { db in
            try await db.raw(
                """
                SELECT * FROM connections WHERE next_balance_sync_at IS NOT NULL
                    AND next_balance_sync_at <= \(bind: now.millisecondsSince1970)
                    AND status IN ('connected', 'syncing', 'pending_refresh', 'error')
                ORDER BY next_balance_sync_at LIMIT \(bind: limit)
                """
            ).all().map(Self.decode)
        }
    }

    /// Connections whose consent ends before `before` and has not ended before `after`.
    public func consentsEnding(after: Date, before: Date, limit: Int = 10_000) async throws -> [Connection] {
        try await database.withReadSession { db in
            try await db.raw(
                """
                SELECT * FROM connections WHERE consent_expires_at IS NOT NULL
                    AND consent_expires_at > \(bind: after.millisecondsSince1970) AND consent_expires_at <= \(bind: before.millisecondsSince1970)
                    AND status NOT IN ('disconnected', 'revoked')
                ORDER BY consent_expires_at LIMIT \(bind: limit)
                """
            ).all().map(Self.decode)
        }
    }

    /// The connection a provider knows as `providerConnectionID` (a webhook's `item_id` or enrollment id).
    public func find(provider: Provider, providerConnectionID: String) async throws -> Connection? {
        try await database.withReadSession { db in
            try await db.raw(
                """
                SELECT * FROM connections WHERE provider = \(bind: provider.rawValue)
                    AND provider_connection_id = \(bind: providerConnectionID)
                """
            ).first().map(Self.decode)
        }
    }

    /// Moves the scheduler's next times forward for `ids` (the tick claims what it enqueues, so
    /// the next tick does not enqueue the same connections again while their jobs wait).
    public func postpone(_ ids: [Identifier<Connection>], nextSyncAt: Date?, nextBalanceSyncAt: Date?, on db: any SQLDatabase) async throws {
        for id in ids {
            if let nextSyncAt {
                try await db.raw("UPDATE connections SET next_sync_at = \(bind: nextSyncAt.millisecondsSince1970) WHERE id = \(bind: id.rawValue)").run()
            }
            if let nextBalanceSyncAt {
                try await db.raw(
                    "UPDATE connections SET next_balance_sync_at = \(bind: nextBalanceSyncAt.millisecondsSince1970) WHERE id = \(bind: id.rawValue)"
                ).run()
            }
        }
    }

    /// Decrypts the connection's provider token.
    /// - Throws: ``StoreError`` `.notFound` without a token, `.decryption` if it cannot be opened.
    public func accessToken(for id: Identifier<Connection>) async throws -> String {
        let sealed = try await database.withReadSession { db in
            try await db.raw("SELECT access_token_ciphertext FROM connections WHERE id = \(bind: id.rawValue)")
                .first()?.optionalText("access_token_ciphertext")
        }
        guard let sealed else { throw StoreError(.notFound, "connection \(id) has no stored access token") }
        return try cipher.open(sealed, context: id.rawValue)
    }

    /// Re-seals every token not sealed with the active key, in batches, each in its own transaction.
    ///
    /// Safe to interrupt and re-run: a row is rewritten only if its ciphertext is still the one read.
    /// - Returns: how many tokens were re-encrypted.
    public func reencryptTokens(batchSize: Int = 500) async throws -> Int {
        let activePrefix = "\(TokenCipher.prefix):\(cipher.keyring.activeKeyID):"
        var total = 0
        var after = ""
        while true {
            let batch: [(String, String)] = try await database.withSession { db in
                try await db.raw(
                    """
                    SELECT id, access_token_ciphertext FROM connections
                    WHERE access_token_ciphertext IS NOT NULL AND id > \(bind: after)
                    ORDER BY id LIMIT \(bind: batchSize)
                    """
                ).all().map { (try $0.text("id"), try $0.text("access_token_ciphertext")) }
            }
            guard let last = batch.last else { break }
            after = last.0
            let stale = batch.filter { !$0.1.hasPrefix(activePrefix) }
            if stale.isEmpty { continue }
            let resealed = try stale.map { id, sealed in
                (id, sealed, try cipher.seal(try cipher.open(sealed, context: id), context: id))
            }
            total += try await database.transaction { db in
                var changed = 0
                for (id, old, new) in resealed {
                    let rows = try await db.raw(
                        """
                        UPDATE connections SET access_token_ciphertext = \(bind: new)
                        WHERE id = \(bind: id) AND access_token_ciphertext = \(bind: old) RETURNING id
                        """
                    ).all()
                    changed += rows.count
                }
                return changed
            }
        }
        return total
    }

    static func decode(_ row: any SQLRow) throws -> Connection {
        Connection(
            id: try row.identifier("id"), userID: try row.identifier("user_id"),
            provider: try row.enumValue("provider", as: Provider.self),
            providerConnectionID: try row.text("provider_connection_id"),
            institutionID: try row.optionalText("institution_id"), institutionName: try row.optionalText("institution_name"),
            status: try row.enumValue("status", as: ConnectionStatus.self),
            syncState: try row.enumValue("sync_state", as: SyncState.self), errorCode: try row.optionalText("error_code"),
            errorCount: try row.int("error_count"), consentGrantedAt: try row.optionalInstant("consent_granted_at"),
            consentExpiresAt: try row.optionalInstant("consent_expires_at"),
            lastSyncedAt: try row.optionalInstant("last_synced_at"), nextSyncAt: try row.optionalInstant("next_sync_at"),
            nextBalanceSyncAt: try row.optionalInstant("next_balance_sync_at"), recoveryAttempts: try row.int("recovery_attempts"),
            scheduleNote: try row.optionalText("schedule_note"), cursor: try row.optionalText("cursor"), createdAt: try row.instant("created_at"),
            updatedAt: try row.instant("updated_at"))
    }
}
