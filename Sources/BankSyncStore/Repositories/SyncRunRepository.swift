public import BankSyncCore
import Foundation
import SQLKit

/// The history of sync attempts per connection.
public struct SyncRunRepository: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// Inserts a run, or rewrites its state, end time, counts and error if it exists.
    public func save(_ run: SyncRun) async throws {
        try await database.withSession { db in
            try await db.raw(
                """
                INSERT INTO sync_runs (id, connection_id, kind, state, started_at, finished_at, added, modified, removed,
                    reconciled, skipped, error_code, error_message, notes)
                VALUES (\(bind: run.id.rawValue), \(bind: run.connectionID.rawValue), \(bind: run.kind.rawValue),
                    \(bind: run.state.rawValue), \(bind: run.startedAt.millisecondsSince1970),
                    \(bind: run.finishedAt.milliseconds), \(bind: run.added), \(bind: run.modified), \(bind: run.removed),
                    \(bind: run.reconciled), \(bind: run.skipped), \(bind: run.errorCode), \(bind: run.errorMessage),
                    \(bind: run.notes.isEmpty ? nil : run.notes.joined(separator: "\n")))
                ON CONFLICT (id) DO UPDATE SET state = excluded.state, finished_at = excluded.finished_at,
                    added = excluded.added, modified = excluded.modified, removed = excluded.removed,
                    reconciled = excluded.reconciled, skipped = excluded.skipped, error_code = excluded.error_code,
                    error_message = excluded.error_message, notes = excluded.notes
                """
            ).run()
        }
    }

    /// A connection's most recent runs, newest first.
    public func list(connectionID: Identifier<Connection>, limit: Int = 20) async throws -> [SyncRun] {
        try await database.withSession { db in
            try await db.raw(
                """
                SELECT * FROM sync_runs WHERE connection_id = \(bind: connectionID.rawValue)
                ORDER BY started_at DESC, id LIMIT \(bind: limit)
                """
            ).all().map { row in
                SyncRun(
                    id: try row.identifier("id"), connectionID: try row.identifier("connection_id"),
                    kind: try row.enumValue("kind", as: SyncKind.self),
                    state: try row.enumValue("state", as: SyncState.self), startedAt: try row.instant("started_at"),
                    finishedAt: try row.optionalInstant("finished_at"), added: try row.int("added"),
                    modified: try row.int("modified"), removed: try row.int("removed"), reconciled: try row.int("reconciled"),
                    skipped: try row.int("skipped"), errorCode: try row.optionalText("error_code"),
                    errorMessage: try row.optionalText("error_message"),
                    notes: try row.optionalText("notes").map { $0.split(separator: "\n").map(String.init) } ?? [])
            }
        }
    }
}
