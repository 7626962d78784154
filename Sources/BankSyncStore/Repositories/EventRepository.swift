public import BankSyncCore
public import Foundation
public import SQLKit

/// Events for the application and the user, deduplicated by key: the in-app feed, tenant
/// notices, and what outbound webhooks deliver.
public struct EventRepository: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// Stores `event` unless one with its dedupe key exists, inside the caller's transaction
    /// (an event commits with the change that caused it). An event without a tenant gets its
    /// user's.
    /// - Returns: whether it was stored (false: a duplicate of an earlier one).
    /// - Throws: ``StoreError`` `.notFound` when the event names no tenant and its user does not exist.
    @discardableResult
    public func emit(_ event: Event, on db: any SQLDatabase) async throws -> Bool {
        var tenantID = event.tenantID
        if tenantID == nil, let userID = event.userID {
            tenantID = try await UserRepository(database: database).tenantID(of: userID, on: db)
        }
        guard let tenantID else { throw StoreError(.notFound, "event \(event.type) names no tenant and its user does not exist") }
        let rows = try await db.raw(
            """
            INSERT INTO events (id, tenant_id, user_id, connection_id, type, payload, dedupe_key, created_at)
            VALUES (\(bind: event.id.rawValue), \(bind: tenantID.rawValue), \(bind: event.userID?.rawValue), \(bind: event.connectionID?.rawValue),
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

    public func get(_ id: Identifier<Event>) async throws -> Event? {
        try await database.withSession { db in
            try await db.raw("SELECT * FROM events WHERE id = \(bind: id.rawValue)").first().map(Self.decode)
        }
    }

    /// A user's feed, newest first. Ids are time-ordered, so `before` (the last id of the
    /// previous page) pages through it stably while new events arrive.
    /// - Parameters:
    ///   - type: only events of this type.
    ///   - unreadOnly: only events not marked read.
    public func list(
        userID: Identifier<User>, type: String? = nil, unreadOnly: Bool = false, before: Identifier<Event>? = nil, limit: Int = 100
    ) async throws -> [Event] {
        try await database.withSession { db in
            let typeFilter: SQLQueryString = type.map { "AND type = \(bind: $0)" } ?? ""
            let unread: SQLQueryString = unreadOnly ? "AND read_at IS NULL" : ""
            let page: SQLQueryString = before.map { "AND id < \(bind: $0.rawValue)" } ?? ""
            return try await db.raw(
                """
                SELECT * FROM events WHERE user_id = \(bind: userID.rawValue) \(typeFilter) \(unread) \(page)
                ORDER BY id DESC LIMIT \(bind: limit)
                """
            ).all().map(Self.decode)
        }
    }

    /// How many of a user's events are not read yet.
    public func unreadCount(userID: Identifier<User>) async throws -> Int {
        try await database.withSession { db in
            try await db.raw("SELECT COUNT(*) AS n FROM events WHERE user_id = \(bind: userID.rawValue) AND read_at IS NULL").first()?.int("n") ?? 0
        }
    }

    /// Marks the user's events `ids` read (ids of other users are ignored); nil marks all.
    /// - Returns: how many were newly marked.
    @discardableResult
    public func markRead(userID: Identifier<User>, ids: [Identifier<Event>]?, at time: Date) async throws -> Int {
        if let ids, ids.isEmpty { return 0 }
        return try await database.withSession { db in
            let only: SQLQueryString = ids.map { "AND id IN (\(binds: $0.map(\.rawValue)))" } ?? ""
            return try await db.raw(
                """
                UPDATE events SET read_at = \(bind: time.millisecondsSince1970)
                WHERE user_id = \(bind: userID.rawValue) AND read_at IS NULL \(only) RETURNING id
                """
            ).all().count
        }
    }

    /// A connection's events, oldest first.
    public func list(connectionID: Identifier<Connection>) async throws -> [Event] {
        try await database.withSession { db in
            try await db.raw("SELECT * FROM events WHERE connection_id = \(bind: connectionID.rawValue) ORDER BY created_at, id")
                .all().map(Self.decode)
        }
    }

    /// A tenant's events created in `from..<to`, oldest first (what a replay by time range
    /// sends again); `noticesOnly` keeps the tenant notices (events without a user).
    public func list(tenantID: Identifier<Tenant>, from: Date, to: Date, noticesOnly: Bool = false, limit: Int = 10_000) async throws -> [Event] {
        try await database.withSession { db in
            let notices: SQLQueryString = noticesOnly ? "AND user_id IS NULL" : ""
            return try await db.raw(
                """
                SELECT * FROM events WHERE tenant_id = \(bind: tenantID.rawValue)
                  AND created_at >= \(bind: from.millisecondsSince1970) AND created_at < \(bind: to.millisecondsSince1970) \(notices)
                ORDER BY created_at, id LIMIT \(bind: limit)
                """
            ).all().map(Self.decode)
        }
    }

    static func decode(_ row: any SQLRow) throws -> Event {
        let text = try row.text("payload")
        let payload: JSONValue
        do { payload = try JSONValue.parse(Array(text.utf8)) } catch {
            throw StoreError(.invalidData, "column payload of event \(try row.text("id")) is not JSON")
        }
        var event: Event
        if let user = try row.optionalText("user_id") {
            event = Event(
                id: try row.identifier("id"), userID: Identifier(user), connectionID: try row.optionalText("connection_id").map { Identifier($0) },
                type: try row.text("type"), payload: payload, dedupeKey: try row.optionalText("dedupe_key"), createdAt: try row.instant("created_at"))
            event.tenantID = try row.identifier("tenant_id")
        } else {
            event = Event(
                id: try row.identifier("id"), tenantID: try row.identifier("tenant_id"), type: try row.text("type"), payload: payload,
                dedupeKey: try row.optionalText("dedupe_key"), createdAt: try row.instant("created_at"))
        }
        event.readAt = try row.optionalInstant("read_at")
        return event
    }
}
