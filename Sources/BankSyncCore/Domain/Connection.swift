public import struct Foundation.Date

/// One login at one institution through one provider (a Plaid Item, a Teller enrollment,
/// a GoCardless requisition).
///
/// The provider's access token is not a field: it is stored encrypted beside the row and only
/// the sync job that needs it decrypts it. Status changes go through ``setStatus(_:)`` and
/// ``setSyncState(_:)`` so an impossible move is an error rather than a silent overwrite.
public struct Connection: Hashable, Sendable, Codable {
    public var id: Identifier<Connection>
    public var userID: Identifier<User>
    public var provider: Provider
    /// The provider's id for the link (Plaid `item_id`, Teller enrollment id, GoCardless requisition id).
    public var providerConnectionID: String
    public var institutionID: String?
    public var institutionName: String?
    public private(set) var status: ConnectionStatus
    public private(set) var syncState: SyncState
    /// The normalized code of the last error (e.g. `ITEM_LOGIN_REQUIRED`), nil once healthy.
    public var errorCode: String?
    /// Consecutive failed syncs; reset to 0 by a successful one.
    public var errorCount: Int
    /// When the user's consent was given (PSD2 / GoCardless EUA).
    public var consentGrantedAt: Date?
    /// When the consent ends and the connection becomes `expired`, if the provider has such a date.
    public var consentExpiresAt: Date?
    public var lastSyncedAt: Date?
    /// When the scheduler should next sync this connection; nil means never (e.g. requires reauth).
    public var nextSyncAt: Date?
    /// When the scheduler should next refresh balances alone (they change more often than the
    /// transaction schedule runs); nil means with the transactions only.
    public var nextBalanceSyncAt: Date?
    /// `connection-recovery` attempts made since the connection last worked (0…3).
    public var recoveryAttempts: Int
    /// Why the schedule is what it is (e.g. "balances every 8 h: the bank allows 4 calls a day").
    public var scheduleNote: String?
    /// The provider's opaque transaction cursor (Plaid `/transactions/sync`); for date-window
    /// providers the last day synced through.
    public var cursor: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Identifier<Connection> = .generate(), userID: Identifier<User>, provider: Provider,
        providerConnectionID: String, institutionID: String? = nil, institutionName: String? = nil,
        status: ConnectionStatus = .connected, syncState: SyncState = .idle, errorCode: String? = nil,
        errorCount: Int = 0, consentGrantedAt: Date? = nil, consentExpiresAt: Date? = nil,
        lastSyncedAt: Date? = nil, nextSyncAt: Date? = nil, nextBalanceSyncAt: Date? = nil, recoveryAttempts: Int = 0,
        scheduleNote: String? = nil, cursor: String? = nil, createdAt: Date,
        updatedAt: Date? = nil
    ) {
        self.id = id
        self.userID = userID
        self.provider = provider
        self.providerConnectionID = providerConnectionID
        self.institutionID = institutionID
        self.institutionName = institutionName
        self.status = status
        self.syncState = syncState
        self.errorCode = errorCode
        self.errorCount = errorCount
        self.consentGrantedAt = consentGrantedAt
        self.consentExpiresAt = consentExpiresAt
        self.lastSyncedAt = lastSyncedAt
        self.nextSyncAt = nextSyncAt
        self.nextBalanceSyncAt = nextBalanceSyncAt
        self.recoveryAttempts = recoveryAttempts
        self.scheduleNote = scheduleNote
        self.cursor = cursor
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }

    /// Moves the connection to `next`.
    /// - Throws: ``DomainError/invalidTransition(machine:from:to:)`` if ``ConnectionStatus`` forbids it.
    public mutating func setStatus(_ next: ConnectionStatus) throws(DomainError) {
        status = try status.transition(to: next)
    }

    /// Moves the sync state to `next`.
    /// - Throws: ``DomainError/invalidTransition(machine:from:to:)`` if ``SyncState`` forbids it.
    public mutating func setSyncState(_ next: SyncState) throws(DomainError) {
        syncState = try syncState.transition(to: next)
    }
}
