/// A storage failure, with a message that names the cause and never contains row data or secrets.
///
/// `description` is safe to log and to show an operator; ``underlying`` keeps the driver's
/// error for `debugDescription`.
public struct StoreError: Error, CustomStringConvertible, CustomDebugStringConvertible, Sendable {
    /// What went wrong, so callers can decide (retry on `.busy`, stop on `.schemaTooNew`).
    public enum Kind: String, Sendable, Hashable {
        /// `BANKSYNC_DATABASE_URL` (or a test URL) is not a usable database URL.
        case invalidURL
        /// The PostgreSQL server could not be reached or refused the login.
        case unreachable
        /// The SQLite file could not be opened (missing directory, permissions).
        case cannotOpen
        /// The SQLite file is not a database, or is damaged.
        case corrupt
        /// Another process holds the SQLite write lock past the busy timeout.
        case busy
        /// The database was written by a newer BankSync; this binary must not touch it.
        case schemaTooNew
        /// The database has not been migrated (or only partly).
        case schemaOutdated
        /// A stored token could not be decrypted (wrong key, missing key id, tampered ciphertext).
        case decryption
        /// No encryption key is configured where one is required.
        case missingKey
        /// A row the caller named does not exist.
        case notFound
        /// A stored value does not parse (an unknown currency, an unknown state).
        case invalidData
        /// The row is in a state that does not allow the operation (a sync of a connection
        /// that must be re-linked first).
        case conflict
        /// Any other driver error.
        case query
    }

    public var kind: Kind
    public var message: String
    public var underlying: (any Error)?

    public init(_ kind: Kind, _ message: String, underlying: (any Error)? = nil) {
        self.kind = kind
        self.message = message
        self.underlying = underlying
    }

    public var description: String { message }

    public var debugDescription: String {
        guard let underlying else { return "StoreError(\(kind.rawValue)): \(message)" }
        return "StoreError(\(kind.rawValue)): \(message) — \(String(reflecting: underlying))"
    }
}
