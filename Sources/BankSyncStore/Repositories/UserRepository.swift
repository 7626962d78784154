public import BankSyncCore
public import Foundation
public import SQLKit

/// The people whose money a tenant's app shows.
public struct UserRepository: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// Stores a new user. A second user with the same tenant and external id is a constraint error.
    public func insert(_ user: User) async throws {
        try await database.withSession { db in
            try await db.raw(
                """
                INSERT INTO users (id, tenant_id, external_id, email, created_at)
                VALUES (\(bind: user.id.rawValue), \(bind: user.tenantID.rawValue), \(bind: user.externalID),
                        \(bind: user.email), \(bind: user.createdAt.millisecondsSince1970))
                """
            ).run()
        }
    }

    /// The user with `id`, or nil.
    public func get(_ id: Identifier<User>) async throws -> User? {
        try await fetchOne("SELECT * FROM users WHERE id = \(bind: id.rawValue)")
    }

    /// The tenant's user with the app's id `externalID`, or nil.
    public func find(tenantID: Identifier<Tenant>, externalID: String) async throws -> User? {
        try await fetchOne(
            "SELECT * FROM users WHERE tenant_id = \(bind: tenantID.rawValue) AND external_id = \(bind: externalID)")
    }

    /// Records that the user was active at `time` (the API calls this when the app reports activity).
    public func touch(_ id: Identifier<User>, at time: Date) async throws {
        try await database.withSession { db in
            try await db.raw("UPDATE users SET last_active_at = \(bind: time.millisecondsSince1970) WHERE id = \(bind: id.rawValue)").run()
        }
    }

    /// The tenant of `userID` (nil: no such user), on the caller's transaction.
    public func tenantID(of userID: Identifier<User>, on db: any SQLDatabase) async throws -> Identifier<Tenant>? {
        try await db.raw("SELECT tenant_id FROM users WHERE id = \(bind: userID.rawValue)").first().map { try $0.identifier("tenant_id") }
    }

    /// A tenant's users in id order (creation order), after `after`.
    public func list(tenantID: Identifier<Tenant>, after: Identifier<User>? = nil, limit: Int = 100) async throws -> [User] {
        let page: SQLQueryString = after.map { "AND id > \(bind: $0.rawValue)" } ?? ""
        return try await database.withReadSession { db in
            try await db.raw("SELECT * FROM users WHERE tenant_id = \(bind: tenantID.rawValue) \(page) ORDER BY id LIMIT \(bind: limit)").all().map(Self.decode)
        }
    }

    private func fetchOne(_ query: SQLQueryString) async throws -> User? {
        try await database.withReadSession { db in try await db.raw(query).first().map(Self.decode) }
    }

    static func decode(_ row: any SQLRow) throws -> User {
        User(
            id: try row.identifier("id"), tenantID: try row.identifier("tenant_id"),
            externalID: try row.text("external_id"), email: try row.optionalText("email"),
            createdAt: try row.instant("created_at"), lastActiveAt: try row.optionalInstant("last_active_at"))
    }
}
