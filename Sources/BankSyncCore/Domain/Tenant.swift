public import struct Foundation.Date

/// An application that runs BankSync: it owns users and API keys. Data never crosses tenants.
public struct Tenant: Hashable, Sendable, Codable {
    public var id: Identifier<Tenant>
    public var name: String
    public var createdAt: Date

    public init(id: Identifier<Tenant> = .generate(), name: String, createdAt: Date) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
    }
}

/// A credential a tenant's backend uses to call the API. Only a hash of the secret is stored;
/// ``prefix`` (the first characters of the key) lets an operator recognise it in a list.
public struct APIKey: Hashable, Sendable, Codable {
    public var id: Identifier<APIKey>
    public var tenantID: Identifier<Tenant>
    public var name: String
    public var prefix: String
    public var createdAt: Date
    public var revokedAt: Date?

    public init(
        id: Identifier<APIKey> = .generate(), tenantID: Identifier<Tenant>, name: String, prefix: String,
        createdAt: Date, revokedAt: Date? = nil
    ) {
        self.id = id
        self.tenantID = tenantID
        self.name = name
        self.prefix = prefix
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// A person whose money the tenant's app shows. ``externalID`` is the app's own id for them.
public struct User: Hashable, Sendable, Codable {
    public var id: Identifier<User>
    public var tenantID: Identifier<Tenant>
    public var externalID: String
    public var email: String?
    public var createdAt: Date
    /// When the app last reported the user active (it syncs active users sooner).
    public var lastActiveAt: Date?

    public init(
        id: Identifier<User> = .generate(), tenantID: Identifier<Tenant>, externalID: String, email: String? = nil,
        createdAt: Date, lastActiveAt: Date? = nil
    ) {
        self.lastActiveAt = lastActiveAt
        self.id = id
        self.tenantID = tenantID
        self.externalID = externalID
        self.email = email
        self.createdAt = createdAt
    }
}
