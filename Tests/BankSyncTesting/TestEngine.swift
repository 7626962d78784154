import BankSyncCore
public import BankSyncStore
public import Foundation
public import Logging
import PostgresNIO

/// A database engine a storage test runs against. SQLite always; PostgreSQL when
/// `BANKSYNC_TEST_POSTGRES_URL` names a server (CI starts one).
public enum TestEngine: String, Sendable, CustomStringConvertible, CaseIterable {
    case sqlite
    case postgres

    public var description: String { rawValue }

    /// The PostgreSQL server tests may create databases on, if any.
    public static let postgresURL: DatabaseURL? = {
        guard let text = ProcessInfo.processInfo.environment["BANKSYNC_TEST_POSTGRES_URL"], !text.isEmpty else {
            print("note: BANKSYNC_TEST_POSTGRES_URL is not set: PostgreSQL storage cases are skipped")
            return nil
        }
        return try! DatabaseURL(parsing: text)
    }()

    /// The engines available in this run: the arguments of every storage test.
    public static let available: [TestEngine] = postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]
}

/// A logger for tests: quiet unless `BANKSYNC_TEST_LOG_LEVEL` says otherwise.
public func testLogger(_ label: String = "test") -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["BANKSYNC_TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
    return logger
}

/// A fresh, empty database of `engine` for the duration of `body`, then deleted.
///
/// SQLite: a new file in a new temporary directory (passed as `directory`). PostgreSQL: a new
/// database created on the test server and dropped afterwards, so tests never share rows.
public func withEmptyDatabase<T: Sendable>(
    _ engine: TestEngine, _ body: (Database, URL?) async throws -> T
) async throws -> T {
    let logger = testLogger()
    switch engine {
    case .sqlite:
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("banksync-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = DatabaseURL.sqlite(path: directory.appendingPathComponent("test.sqlite").path)
        return try await Database.withDatabase(url, logger: logger) { try await body($0, directory) }
    case .postgres:
        guard case .postgres(let server) = TestEngine.postgresURL else {
            fatalError("PostgreSQL test requested without BANKSYNC_TEST_POSTGRES_URL")
        }
        let name = "banksync_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        try await adminExecute(server, "CREATE DATABASE \(name)")
        var location = server
        location.database = String(name)
        do {
            let result = try await Database.withDatabase(.postgres(location), logger: logger) { try await body($0, nil) }
            try await adminExecute(server, "DROP DATABASE \(name) WITH (FORCE)")
            return result
        } catch {
            try? await adminExecute(server, "DROP DATABASE \(name) WITH (FORCE)")
            throw error
        }
    }
}

/// A fresh migrated ``Store`` with a random keyring.
public func withTestStore<T: Sendable>(
    _ engine: TestEngine, keyring: Keyring? = nil, _ body: (Store, URL?) async throws -> T
) async throws -> T {
    let ring = try keyring ?? Keyring(parsing: "test:\(Keyring.generateKeyBase64())", activeKeyID: nil)
    return try await withEmptyDatabase(engine) { database, directory in
        try await Migrator(database: database, logger: testLogger()).migrate()
        return try await body(Store(database: database, keyring: ring), directory)
    }
}

private func adminExecute(_ server: DatabaseURL.PostgresLocation, _ statement: String) async throws {
    let connection = try await PostgresConnection.connect(
        configuration: .init(
            host: server.host, port: server.port, username: server.username, password: server.password,
            database: server.database, tls: .disable),
        id: 0, logger: testLogger())
    do {
        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: testLogger())
        try await connection.close()
    } catch {
        try? await connection.close()
        throw error
    }
}
