public import struct Foundation.Date

/// Something that happened which the application (and through it the user) may want to know:
/// a connection that needs the user, accounts that appeared, a sync that finished.
///
/// The ``dedupeKey`` makes a condition produce one event, not one per run: the store keeps the
/// first event with a key and ignores the rest (e.g. `connection.expiring:<id>:14` is emitted
/// once however many daily checks see the consent 14 days or less from its end).
///
/// Most events belong to a user (their feed, their opt-outs). Tenant notices — an endpoint of
/// the tenant's that was disabled — have no user.
public struct Event: Sendable {
    public var id: Identifier<Event>
    /// The tenant; nil when making an event for a user (the store fills it from the user).
    public var tenantID: Identifier<Tenant>?
    /// The user it is about; nil for a tenant notice.
    public var userID: Identifier<User>?
    public var connectionID: Identifier<Connection>?
    /// A stable type name, e.g. `connection.requires_reauth`, `accounts.added`.
    public var type: String
    /// The versioned JSON payload.
    public var payload: JSONValue
    public var dedupeKey: String?
    public var createdAt: Date
    /// When the user marked it read in the feed.
    public var readAt: Date?

    /// An event about a user.
    public init(
        id: Identifier<Event> = .generate(), userID: Identifier<User>, connectionID: Identifier<Connection>? = nil, type: String,
        payload: JSONValue, dedupeKey: String? = nil, createdAt: Date
    ) {
        self.id = id
        self.tenantID = nil
        self.userID = userID
        self.connectionID = connectionID
        self.type = type
        self.payload = payload
        self.dedupeKey = dedupeKey
        self.createdAt = createdAt
    }

    /// A tenant notice (no user).
    public init(
        id: Identifier<Event> = .generate(), tenantID: Identifier<Tenant>, type: String, payload: JSONValue, dedupeKey: String? = nil, createdAt: Date
    ) {
        self.id = id
        self.tenantID = tenantID
        self.userID = nil
        self.connectionID = nil
        self.type = type
        self.payload = payload
        self.dedupeKey = dedupeKey
        self.createdAt = createdAt
    }
}
