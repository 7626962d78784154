public import Logging
public import SQLKit
public import ServiceLifecycle
import NIOCore
import NIOPosix
import NIOSSL
import PostgresKit
public import PostgresNIO
import SQLiteKit
import SQLiteNIO
import Synchronization

/// An open database: one SQLite connection (embedded mode) or a PostgreSQL connection pool
/// (distributed mode), behind one API.
///
/// Use ``withDatabase(_:logger:_:)`` for a scoped lifetime (CLI commands, tests), or open it with
/// ``open(_:logger:)`` and run it as a `Service` in the process's `ServiceGroup`: for PostgreSQL
/// ``run()`` drives the pool; for SQLite it holds the file open until shutdown.
///
/// Every statement runs through ``withSession(_:)``, ``transaction(_:)`` or, for reads alone,
/// ``withReadSession(_:)``. In embedded mode the first two take an ``AsyncLock`` so a
/// transaction's statements are contiguous on the writing connection; reads go to a small pool
/// of reading connections (``SQLiteReaders``; WAL lets each read the last commit while a write
/// transaction runs), so they neither queue behind the writer nor behind one another.
public final class Database: Service, Sendable {
    /// Which engine this is; the only switch on engine outside ``DatabaseEngine``.
    public let engine: DatabaseEngine
    /// The URL it was opened from (password redacted in `description`).
    public let url: DatabaseURL
    let logger: Logger
    private let backend: Backend
    /// Embedded mode: whether ``close()`` has begun, and how many sessions are on the writer's
    /// thread (it stops only when none is).
    private let lifecycle = Mutex(Lifecycle())
    private struct Lifecycle {
        var closed = false
        var onWriter = 0
    }

    private enum Backend: Sendable {
        /// The writing connection and its lock; the reading connections (nil for an in-memory
        /// database, which a second connection would not see: reads take the writing one).
        case sqlite(SQLiteConnection, AsyncLock, readers: SQLiteReaders?, thread: WriterThread)
        case postgres(PostgresClient)
    }

    private init(url: DatabaseURL, backend: Backend, logger: Logger) {
        self.url = url
        self.engine = url.engine
        self.backend = backend
        self.logger = logger
    }

    /// Opens the database and checks that it answers.
    ///
    /// SQLite: opens (creating) the file in WAL mode with a 5 s busy timeout and foreign keys on,
    /// and reads its header, so a file that is not a database fails here, not on first use.
    /// PostgreSQL: makes and closes one connection, so a wrong host or password fails here with
    /// the server's reason.
    /// - Important: a PostgreSQL database answers queries only while ``run()`` runs (in a
    ///   `ServiceGroup`); before that a query waits. Use ``withDatabase(_:logger:busyTimeout:_:)``
    ///   for work outside a service group.
    /// - Throws: ``StoreError`` (`.cannotOpen`, `.corrupt`, `.busy`, `.unreachable`).
    /// - Parameter busyTimeout: SQLite only: how long a write waits for another process's lock
    ///   before failing with `.busy`.
    public static func open(
        _ url: DatabaseURL, logger: Logger, busyTimeout: Duration = .seconds(5)
    ) async throws(StoreError) -> Database {
        switch url {
        case .sqlite(let path):
            return try await openSQLite(storage: .file(path: path), url: url, busyTimeout: busyTimeout, logger: logger)
        case .sqliteMemory:
            return try await openSQLite(storage: .memory, url: url, busyTimeout: busyTimeout, logger: logger)
        case .postgres(let location):
            return try await openPostgres(location, url: url, logger: logger)
        }
    }

    /// Opens the database, runs `body` with it, and closes it whatever happens.
    public static func withDatabase<T: Sendable>(
        _ url: DatabaseURL, logger: Logger, busyTimeout: Duration = .seconds(5), _ body: (Database) async throws -> T
    ) async throws -> T {
        let database = try await open(url, logger: logger, busyTimeout: busyTimeout)
        switch database.backend {
        case .sqlite:
            do {
                let result = try await body(database)
                await database.close()
                return result
            } catch {
                await database.close()
                throw error
            }
        case .postgres(let client):
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                return try await body(database)
            }
        }
    }

    /// Runs the connection pool (PostgreSQL) or holds the file open (SQLite) until graceful
    /// shutdown or cancellation.
    public func run() async throws {
        switch backend {
        case .postgres(let client):
            await cancelWhenGracefulShutdown { await client.run() }
        case .sqlite:
            try? await cancelWhenGracefulShutdown {
                while true { try await Task.sleep(for: .seconds(3_600)) }
            }
            await close()
        }
    }

    /// Closes the SQLite file (checkpointing its WAL). Idempotent; the PostgreSQL pool closes
    /// when ``run()`` ends. Call it after the service group has stopped, whatever way it stopped.
    public func close() async {
        guard case .sqlite(let connection, let lock, let readers, let thread) = backend else { return }
        let first = lifecycle.withLock { state in
            defer { state.closed = true }
            return !state.closed
        }
        guard first else { return }
        // Wait for any statement in flight, then close from an uncancelled task (the readers
        // first: the writer's close checkpoints the WAL).
        if let readers { await Task { await readers.close() }.value }
        await lock.lock()
        await Task { try? await connection.close() }.value
        lock.unlock()
        // Sessions admitted before the close (waiting for the lock, or on their way to it) now
        // find the database closed and give up; they run on the writer's thread, so it stops
        // only after the last has left.
        while lifecycle.withLock({ $0.onWriter }) > 0 { try? await Task.sleep(for: .milliseconds(2)) }
        await thread.shutdown()
    }

    /// Runs `body` with a database handle; statements in it may interleave with other sessions'.
    ///
    /// Statements are not logged: their bound values can hold payloads and ciphertexts.
    public func withSession<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        do {
            switch backend {
            case .sqlite(let connection, let lock, _, let thread):
                // On the writer's thread (see ``WriterThread``): the lock is held for SQLite's
                // work, not for a turn on the shared pool between statements.
                return try await onWriter(connection, lock, thread) { try await body($0.sql(queryLogLevel: nil)) }
            case .postgres(let client):
                return try await client.withConnection { connection in
                    try await body(PostgresSession(base: connection.sql(queryLogLevel: nil, logger: logger), connection: connection))
                }
            }
        } catch {
            throw Database.translate(error)
        }
    }

    /// Runs `body` with a handle for statements that only read. Embedded mode runs them on a
    /// reading connection: they see the last committed state and do not wait for a write
    /// transaction in progress (nor hold one up). PostgreSQL: the same as ``withSession(_:)``.
    /// - Important: nothing in `body` may write; use ``withSession(_:)`` or ``transaction(_:)``.
    public func withReadSession<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        guard case .sqlite = backend else { return try await withSession(body) }
        return try await readingSQLite { try await body($0.sql(queryLogLevel: nil)) }
    }

    /// Runs `body` on a pooled PostgreSQL connection, for hot paths that need what SQLKit does
    /// not offer (named prepared statements, typed row decoding). Nil in embedded mode, where
    /// callers take the ``withSession(_:)`` path.
    public func withPostgresConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T? {
        guard case .postgres(let client) = backend else { return nil }
        do {
            return try await client.withConnection { try await body($0) }
        } catch {
            throw Database.translate(error)
        }
    }

    /// Runs `body` on a reading SQLite connection, for hot reads that decode rows by position
    /// rather than through SQLKit. Nil in distributed mode, where callers take
    /// ``withPostgresConnection(_:)``.
    func withSQLiteReader<T: Sendable>(_ body: (SQLiteConnection) async throws -> T) async throws -> T? {
        guard case .sqlite = backend else { return nil }
        return try await readingSQLite(body)
    }

    /// Embedded mode only: `body` on a free reading connection, or on the writing one under its
    /// lock for an in-memory database (which has no other).
    private func readingSQLite<T: Sendable>(_ body: (SQLiteConnection) async throws -> T) async throws -> T {
        guard case .sqlite(let connection, let lock, let readers, let thread) = backend else { preconditionFailure("not an embedded database") }
        do {
            guard let readers else {
                return try await onWriter(connection, lock, thread, body)
            }
            guard !lifecycle.withLock({ $0.closed }) else { throw closedError }
            return try await readers.withConnection { try await body($0) }
        } catch {
            throw Database.translate(error)
        }
    }

    /// Embedded mode: `body` on the writing connection, under its lock, on its thread.
    private func onWriter<T: Sendable>(
        _ connection: SQLiteConnection, _ lock: AsyncLock, _ thread: WriterThread, _ body: (SQLiteConnection) async throws -> T
    ) async throws -> T {
        let admitted = lifecycle.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.onWriter += 1
            return true
        }
        guard admitted else { throw closedError }
        defer { lifecycle.withLock { $0.onWriter -= 1 } }
        return try await withTaskExecutorPreference(thread) {
            try await lock.withLock {
                guard !lifecycle.withLock({ $0.closed }) else { throw closedError }
                return try await body(connection)
            }
        }
    }

    private var closedError: StoreError { StoreError(.query, "the database \(url) is closed") }

    /// Runs `body` in one database transaction: committed if it returns, rolled back if it throws.
    public func transaction<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await withSession { db in
            try await db.raw(SQLQueryString(engine.beginTransaction)).run()
            do {
                let result = try await body(db)
                try await db.raw("COMMIT").run()
                return result
            } catch {
                try? await db.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    /// A new PostgreSQL connection outside the pool, for work that holds a connection open
    /// (LISTEN). Nil in embedded mode. The caller closes it.
    public func makeDedicatedConnection(logger: Logger) async throws -> PostgresConnection? {
        guard case .postgres(let location) = url else { return nil }
        return try await PostgresConnection.connect(
            configuration: try Self.connectionConfiguration(location), id: Int.random(in: 1_000...Int(Int32.max)),
            logger: logger)
    }

    static func connectionConfiguration(_ location: DatabaseURL.PostgresLocation) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch location.tlsMode {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        var config = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.username,
            password: location.password, database: location.database, tls: tls)
        config.options.connectTimeout = .seconds(10)
        return config
    }

    /// Checks the database answers a trivial query (for readiness probes).
    public func ping() async throws {
        try await withSession { db in _ = try await db.raw("SELECT 1 AS one").all() }
    }

    // MARK: - Opening

    private static func openSQLite(
        storage: SQLiteConnection.Storage, url: DatabaseURL, busyTimeout: Duration, logger: Logger
    ) async throws(StoreError) -> Database {
        let busyTimeoutPragma = SQLQueryString(
            "PRAGMA busy_timeout = \(unsafeRaw: String(busyTimeout.components.seconds * 1000 + busyTimeout.components.attoseconds / 1_000_000_000_000_000))")
        let connection: SQLiteConnection
        let thread = WriterThread()
        do {
            connection = try await SQLiteConnection.open(storage: storage, threadPool: thread.pool, logger: logger, on: thread.loop)
        } catch {
            await thread.shutdown()
            throw StoreError(.cannotOpen, "cannot open SQLite database \(url): \(sqliteReason(error))", underlying: error)
        }
        do {
            let db = connection.sql()
            // busy_timeout first: the WAL switch itself needs the lock another process may hold.
            try await db.raw(busyTimeoutPragma).run()
            if case .file = storage {
                try await db.raw("PRAGMA journal_mode = WAL").run()
            }
            try await db.raw("PRAGMA foreign_keys = ON").run()
            try await db.raw("PRAGMA synchronous = NORMAL").run()
            // Statement journals (multi-row UPDATEs inside a transaction write one) in memory,
            // not in temporary files: they were a tenth of a SQLite queue drain's time.
            try await db.raw("PRAGMA temp_store = MEMORY").run()
            // Checkpoint every 4,000 WAL pages (16 MiB) rather than 1,000: the queue's hot index
            // pages change in every commit, and each checkpoint writes them (and fsyncs) again.
            try await db.raw("PRAGMA wal_autocheckpoint = 4000").run()
            // Reads the schema page: a file that is not an SQLite database fails here.
            _ = try await db.raw("SELECT count(*) AS n FROM sqlite_master").all()
        } catch {
            try? await connection.close()
            await thread.shutdown()
            let classified = classify(error)
            throw StoreError(classified.kind, "cannot use SQLite database \(url): \(classified.message)", underlying: error)
        }
        let lock = AsyncLock()
        guard case .file = storage else {
            return Database(url: url, backend: .sqlite(connection, lock, readers: nil, thread: thread), logger: logger)
        }
        var readers: [SQLiteConnection] = []
        do {
            for _ in 0..<SQLiteReaders.defaultCount {
                let reader = try await SQLiteConnection.open(storage: storage, logger: logger)
                readers.append(reader)
                let db = reader.sql()
                try await db.raw(busyTimeoutPragma).run()
                try await db.raw("PRAGMA query_only = ON").run()
            }
        } catch {
            for reader in readers { try? await reader.close() }
            try? await connection.close()
            await thread.shutdown()
            throw StoreError(.cannotOpen, "cannot open a reading connection to SQLite database \(url): \(sqliteReason(error))", underlying: error)
        }
        return Database(url: url, backend: .sqlite(connection, lock, readers: SQLiteReaders(readers), thread: thread), logger: logger)
    }

    private static func openPostgres(
        _ location: DatabaseURL.PostgresLocation, url: DatabaseURL, logger: Logger
    ) async throws(StoreError) -> Database {
        // Probe with a single connection first: the pool would retry a bad host forever.
        do {
            let probe = try await PostgresConnection.connect(
                configuration: try connectionConfiguration(location), id: 0, logger: logger)
            try await probe.close()
        } catch {
            throw StoreError(
                .unreachable, "cannot connect to PostgreSQL at \(url): \(postgresReason(error))", underlying: error)
        }
        let tls: PostgresClient.Configuration.TLS
        switch location.tlsMode {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(.makeClientConfiguration())
        case .require: tls = .require(.makeClientConfiguration())
        }
        var config = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.username,
            password: location.password, database: location.database, tls: tls)
        config.options.maximumConnections = 16
        let client = PostgresClient(configuration: config, backgroundLogger: logger)
        return Database(url: url, backend: .postgres(client), logger: logger)
    }

    // MARK: - Errors

    /// Maps a driver error to a ``StoreError`` whose message names the cause.
    static func classify(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? SQLiteError {
            switch error.reason {
            case .busy, .busyTimeout, .locked, .busyInRecovery, .busyInSnapshot:
                return StoreError(.busy, "the SQLite database is locked by another process (waited past the busy timeout): \(error.message)", underlying: error)
            case .corrupt, .notADatabase, .corruptIndex, .corruptSequenceSchema, .corruptVirtualTable:
                return StoreError(.corrupt, "the SQLite file is not a database or is damaged: \(error.message)", underlying: error)
            case .cantOpen, .permission, .readOnly, .readonlyDirectory, .readonlyCantLock:
                return StoreError(.cannotOpen, "the SQLite file cannot be opened for writing: \(error.message)", underlying: error)
            default:
                return StoreError(.query, "SQLite error: \(error.message)", underlying: error)
            }
        }
        if let error = error as? PSQLError {
            return StoreError(.query, "PostgreSQL error: \(postgresReason(error))", underlying: error)
        }
        return StoreError(.query, "database error: \(error)", underlying: error)
    }

    /// Driver errors become ``StoreError``s; anything else a session's body threw (a domain
    /// error, cancellation) passes through unchanged so callers can still match on it.
    static func translate(_ error: any Error) -> any Error {
        error is SQLiteError || error is PSQLError ? classify(error) : error
    }

    private static func sqliteReason(_ error: any Error) -> String {
        (error as? SQLiteError)?.message ?? "\(error)"
    }

    /// The server's message or the connection failure, without the query text or binds.
    static func postgresReason(_ error: any Error) -> String {
        guard let error = error as? PSQLError else {
            if let io = error as? IOError { return io.description }
            return "\(error)"
        }
        if let message = error.serverInfo?[.message] {
            let code = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            return message + code
        }
        if let underlying = error.underlying { return "\(underlying)" }
        return "\(error.code)"
    }
}

/// A PostgreSQL session's SQLKit handle that also carries its connection, for the writes SQLKit
/// cannot make (`COPY`). Everything else goes to SQLKit's own handle.
struct PostgresSession: SQLDatabase {
    let base: any SQLDatabase
    let connection: PostgresConnection

    var logger: Logger { base.logger }
    var eventLoop: any EventLoop { base.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { base.version }
    var dialect: any SQLDialect { base.dialect }
    var queryLogLevel: Logger.Level? { base.queryLogLevel }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        base.execute(sql: query, onRow)
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try await base.execute(sql: query, onRow)
    }

    func withSession<R>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await closure(self)
    }
}
