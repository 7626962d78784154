public import BankSyncCore
import Crypto
public import Foundation
import SQLKit

/// Tenants and their API keys. Keys are stored as SHA-256 hashes: they are 256-bit random
/// secrets, so a fast hash is enough and a stolen database yields no usable key.
public struct TenantRepository: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// Creates a tenant.
    public func create(name: String, now: Date = Date()) async throws -> Tenant {
        let tenant = Tenant(name: name, createdAt: now)
        try await database.withSession { db in
            try await db.raw(
                "INSERT INTO tenants (id, name, created_at) VALUES (\(bind: tenant.id.rawValue), \(bind: name), \(bind: now.millisecondsSince1970))"
            ).run()
        }
        return tenant
    }

    /// The tenant with `id`, or nil.
    public func get(_ id: Identifier<Tenant>) async throws -> Tenant? {
        try await database.withReadSession { db in
            guard let row = try await db.raw("SELECT id, name, created_at FROM tenants WHERE id = \(bind: id.rawValue)").first()
            else { return nil }
            return Tenant(id: try row.identifier("id"), name: try row.text("name"), createdAt: try row.instant("created_at"))
        }
    }

    /// Creates an API key for a tenant.
    /// - Returns: the key's record and its secret, which is shown once and never stored.
    public func createAPIKey(tenantID: Identifier<Tenant>, name: String, now: Date = Date()) async throws -> (APIKey, secret: String) {
        let random = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        let secret = "bsk_" + random.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        let key = APIKey(tenantID: tenantID, name: name, prefix: String(secret.prefix(12)), createdAt: now)
        try await database.withSession { db in
            try await db.raw(
                """
                INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, created_at)
                VALUES (\(bind: key.id.rawValue), \(bind: tenantID.rawValue), \(bind: name), \(bind: key.prefix),
                        \(bind: Self.hash(secret)), \(bind: now.millisecondsSince1970))
                """
            ).run()
        }
        return (key, secret)
    }

    /// The live (not revoked) key whose secret this is, or nil.
    public func authenticate(secret: String) async throws -> APIKey? {
        try await database.withReadSession { db in
            guard
                let row = try await db.raw(
                    """
                    SELECT id, tenant_id, name, prefix, created_at, revoked_at FROM api_keys
                    WHERE key_hash = \(bind: Self.hash(secret)) AND revoked_at IS NULL
                    """
                ).first()
            else { return nil }
            return APIKey(
                id: try row.identifier("id"), tenantID: try row.identifier("tenant_id"), name: try row.text("name"),
                prefix: try row.text("prefix"), createdAt: try row.instant("created_at"),
                revokedAt: try row.optionalInstant("revoked_at"))
        }
    }

    /// Revokes a key; later ``authenticate(secret:)`` calls with it return nil.
    public func revokeAPIKey(_ id: Identifier<APIKey>, now: Date = Date()) async throws {
        try await database.withSession { db in
            try await db.raw(
                "UPDATE api_keys SET revoked_at = \(bind: now.millisecondsSince1970) WHERE id = \(bind: id.rawValue) AND revoked_at IS NULL"
            ).run()
        }
    }

    /// Every tenant, oldest first.
    public func list() async throws -> [Tenant] {
        try await database.withReadSession { db in
            try await db.raw("SELECT id, name, created_at FROM tenants ORDER BY created_at, id").all().map {
                Tenant(id: try $0.identifier("id"), name: try $0.text("name"), createdAt: try $0.instant("created_at"))
            }
        }
    }

    /// A tenant's API keys (revoked ones too), oldest first. Secrets are never stored, so never listed.
    public func apiKeys(tenantID: Identifier<Tenant>) async throws -> [APIKey] {
        try await database.withReadSession { db in
            try await db.raw(
                "SELECT id, tenant_id, name, prefix, created_at, revoked_at FROM api_keys WHERE tenant_id = \(bind: tenantID.rawValue) ORDER BY created_at, id"
            ).all().map {
                APIKey(
                    id: try $0.identifier("id"), tenantID: try $0.identifier("tenant_id"), name: try $0.text("name"), prefix: try $0.text("prefix"),
                    createdAt: try $0.instant("created_at"), revokedAt: try $0.optionalInstant("revoked_at"))
            }
        }
    }

    static func hash(_ secret: String) -> String { secretHash(secret) }
}
