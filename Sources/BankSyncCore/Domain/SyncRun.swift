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
    /// Pending rows settled by their posted rows in this run (provider link or matcher).
    public var reconciled: Int
    /// Provider rows left out because they could not be read (unknown currency, bad amount,
    /// unknown account); ``notes`` says which and why.
    public var skipped: Int
    public var errorCode: String?
    /// The failure in words, for the status API and the dashboard (never a token).
    public var errorMessage: String?
    /// Things a person should know about the run: skipped rows with their reasons, removals
    /// held back. At most ``maxNotes``.
    public var notes: [String]

    /// Notes beyond this are summarised as a count.
    public static let maxNotes = 20

    public init(
        id: Identifier<SyncRun> = .generate(), connectionID: Identifier<Connection>, kind: SyncKind,
        state: SyncState = .inProgress, startedAt: Date, finishedAt: Date? = nil, added: Int = 0,
        modified: Int = 0, removed: Int = 0, reconciled: Int = 0, skipped: Int = 0, errorCode: String? = nil,
        errorMessage: String? = nil, notes: [String] = []
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
        self.reconciled = reconciled
        self.skipped = skipped
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.notes = notes
    }

    /// How long the run took, once it has ended.
    public var duration: Double? { finishedAt.map { $0.timeIntervalSince(startedAt) } }

    /// Ends the run as completed or failed.
    /// - Throws: ``DomainError/invalidTransition(machine:from:to:)`` if it already ended, or
    ///   if `state` is not terminal.
    public mutating func finish(_ state: SyncState, at date: Date, errorCode: String? = nil, errorMessage: String? = nil) throws(DomainError) {
        guard state.isTerminal, !self.state.isTerminal else {
            throw .invalidTransition(machine: SyncState.machineName, from: self.state.rawValue, to: state.rawValue)
        }
        self.state = try self.state.transition(to: state)
        self.finishedAt = date
        self.errorCode = errorCode
        self.errorMessage = errorMessage
    }
}
