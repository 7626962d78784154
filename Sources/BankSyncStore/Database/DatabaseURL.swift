import struct Foundation.URLComponents

/// Where the data lives: an SQLite file (embedded mode) or a PostgreSQL server (distributed mode).
///
/// Accepted forms:
/// - `sqlite://./banksync.sqlite`, `sqlite:///var/lib/banksync/db.sqlite`, `sqlite::memory:`
/// - `postgres://user:password@host:5432/database?sslmode=disable|prefer|require`
///   (`postgresql://` too)
public enum DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case sqliteMemory
    case postgres(PostgresLocation)

    /// The parts of a PostgreSQL URL.
    public struct PostgresLocation: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var username: String
        public var password: String?
        public var database: String
        public var tlsMode: TLSMode

        /// How the client uses TLS.
        public enum TLSMode: String, Sendable, Equatable {
            case disable, prefer, require
        }
    }

    /// Parses a database URL.
    /// - Throws: ``StoreError`` of kind `.invalidURL` naming what was wrong.
    public init(parsing text: String) throws(StoreError) {
        let trimmed = text.trimmingWhitespace
        if trimmed == "sqlite::memory:" || trimmed == "sqlite://:memory:" {
            self = .sqliteMemory
            return
        }
        if trimmed.hasPrefix("sqlite://") {
            let path = String(trimmed.dropFirst("sqlite://".count))
            guard !path.isEmpty else {
                throw StoreError(.invalidURL, "database URL '\(trimmed)' has no file path: expected sqlite://./banksync.sqlite")
            }
            self = .sqlite(path: path)
            return
        }
        guard trimmed.hasPrefix("postgres://") || trimmed.hasPrefix("postgresql://") else {
            throw StoreError(
                .invalidURL,
                "database URL '\(DatabaseURL.redacted(trimmed))' has an unsupported scheme: expected sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE"
            )
        }
        guard let components = URLComponents(string: trimmed), let host = components.host, !host.isEmpty else {
            throw StoreError(.invalidURL, "database URL '\(DatabaseURL.redacted(trimmed))' is not a valid postgres:// URL: expected postgres://USER:PASSWORD@HOST:PORT/DATABASE")
        }
        guard let user = components.user, !user.isEmpty else {
            throw StoreError(.invalidURL, "database URL '\(DatabaseURL.redacted(trimmed))' names no user: expected postgres://USER@HOST/DATABASE")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else {
            throw StoreError(.invalidURL, "database URL '\(DatabaseURL.redacted(trimmed))' names no database: expected postgres://USER@HOST:PORT/DATABASE")
        }
        var tls = PostgresLocation.TLSMode.prefer
        for item in components.queryItems ?? [] where item.name == "sslmode" {
            switch item.value ?? "" {
            case "disable": tls = .disable
            case "allow", "prefer": tls = .prefer
            case "require", "verify-ca", "verify-full": tls = .require
            default:
                throw StoreError(.invalidURL, "database URL has sslmode '\(item.value ?? "")': expected disable, prefer or require")
            }
        }
        self = .postgres(
            PostgresLocation(
                host: host, port: components.port ?? 5432, username: user.removingPercentEncoding ?? user,
                password: components.password?.removingPercentEncoding ?? components.password,
                database: database, tlsMode: tls))
    }

    /// The engine the URL selects.
    public var engine: DatabaseEngine {
        switch self {
        case .sqlite, .sqliteMemory: return .sqlite
        case .postgres: return .postgres
        }
    }

    /// The URL with any password replaced by `***`, safe to log.
    public var description: String {
        switch self {
        case .sqlite(let path): return "sqlite://\(path)"
        case .sqliteMemory: return "sqlite::memory:"
        case .postgres(let l):
            return "postgres://\(l.username)\(l.password == nil ? "" : ":***")@\(l.host):\(l.port)/\(l.database)"
        }
    }

    /// Hides the password of a URL that did not parse, so an error message cannot leak it.
    static func redacted(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://"), let at = text.range(of: "@", range: schemeEnd.upperBound..<text.endIndex)
        else { return text }
        let userInfo = text[schemeEnd.upperBound..<at.lowerBound]
        guard let colon = userInfo.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at.lowerBound...])
    }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
