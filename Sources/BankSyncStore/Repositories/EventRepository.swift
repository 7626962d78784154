public import BankSyncCore
public import Foundation
public import SQLKit

/// Events for the application and the user, deduplicated by key.
public struct EventRepository: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// Stores `event` unless one with its dedupe key exists, inside the caller's transaction
    /// (an event commits with the change that caused it).
    /// - Returns: whether it was stored (false: a duplicate of an earlier one).
    @discardableResult
    public func emit(_ event: Event, on db: any SQLDatabase) async throws -> Bool {
        let rows = try await db.raw(
            """
            INSERT INTO events (id, user_id, connection_id, type, payload, dedupe_key, created_at)
            VALUES (\(bind: event.id.rawValue), \(bind: event.userID.rawValue), \(bind: event.connectionID?.rawValue),
                \(bind: event.type), \(bind: String(decoding: event.payload.serialized(), as: UTF8.self)), \(bind: event.dedupeKey),
                \(bind: event.createdAt.millisecondsSince1970))
            ON CONFLICT (dedupe_key) DO NOTHING
            RETURNING id
            """
        ).all()
        return !rows.isEmpty
    }

    /// ``emit(_:on:)`` in its own transaction.
    @discardableResult
    public func emit(_ event: Event) async throws -> Bool {
        try await database.withSession { db in try await emit(event, on: db) }
    }

    /// A user's events, newest first; `type` filters by type name.
    public func list(userID: Identifier<User>, type: String? = nil, limit: Int = 100) async throws -> [Event] {
        try await database.withSession { db in
            let filter: SQLQueryString = type.map { "AND type = \(bind: $0)" } ?? ""
            return try await db.raw(
                """
                SELECT * FROM events WHERE user_id = \(bind: userID.rawValue) \(filter)
                ORDER BY created_at DESC, id DESC LIMIT \(bind: limit)
                """
            ).all().map(Self.decode)
        }
    }

    /// A connection's events, oldest first.
    public func list(connectionID: Identifier<Connection>) async throws -> [Event] {
        try await database.withSession { db in
            try await db.raw("SELECT * FROM events WHERE connection_id = \(bind: connectionID.rawValue) ORDER BY created_at, id")
                .all().map(Self.decode)
        }
    }

    static func decode(_ row: any SQLRow) throws -> Event {
        let text = try row.text("payload")
        let payload: JSONValue
        do { payload = try JSONValue.parse(Array(text.utf8)) } catch {
            throw StoreError(.invalidData, "column payload of event \(try row.text("id")) is not JSON")
        }
        return Event(
            id: try row.identifier("id"), userID: try row.identifier("user_id"), connectionID: try row.optionalText("connection_id").map { Identifier($0) },
            type: try row.text("type"), payload: payload, dedupeKey: try row.optionalText("dedupe_key"), createdAt: try row.instant("created_at"))
    }
}
