public import struct Foundation.Date

/// What a sync run fetched.
public enum SyncKind: String, Sendable, Codable, CaseIterable, Hashable {
    case accounts
    case balances
    case transactions
    case full
}

/// One attempt to sync a connection, kept as history for the status API and for debugging.
public struct SyncRun: Hashable, Sendable, Codable {
    public var id: Identifier<SyncRun>
    public var connectionID: Identifier<Connection>
    public var kind: SyncKind
    public private(set) var state: SyncState
    public var startedAt: Date
    public var finishedAt: Date?
    public var added: Int
    public var modified: Int
    public var removed: Int
    public var errorCode: String?

    public init(
        id: Identifier<SyncRun> = .generate(), connectionID: Identifier<Connection>, kind: SyncKind,
        state: SyncState = .inProgress, startedAt: Date, finishedAt: Date? = nil, added: Int = 0,
        modified: Int = 0, removed: Int = 0, errorCode: String? = nil
    ) {
        self.id = id
        self.connectionID = connectionID
        self.kind = kind
        self.state = state
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.added = added
        self.modified = modified
        self.removed = removed
        self.errorCode = errorCode
    }

    /// Ends the run as completed or failed.
    /// - Throws: ``DomainError/invalidTransition(machine:from:to:)`` if it already ended, or
    ///   if `state` is not terminal.
    public mutating func finish(_ state: SyncState, at date: Date, errorCode: String? = nil) throws(DomainError) {
        guard state.isTerminal, !self.state.isTerminal else {
            throw .invalidTransition(machine: SyncState.machineName, from: self.state.rawValue, to: state.rawValue)
        }
        self.state = try self.state.transition(to: state)
        self.finishedAt = date
        self.errorCode = errorCode
    }
}
