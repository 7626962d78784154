import BankSyncServer
import BankSyncStore
import Foundation
import Logging
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    let key = "k1:" + Keyring.generateKeyBase64()

    @Test("with nothing set, BankSync runs embedded: SQLite beside a generated key file, localhost:8080")
    func defaults() async throws {
        let config = try await BankSyncConfiguration.load(environment: [:])
        #expect(config.databaseURL == .sqlite(path: "./banksync.sqlite"))
        #expect(config.keySource == .file(path: "./banksync.sqlite.key", createIfMissing: true))
        #expect(config.httpHost == "127.0.0.1")
        #expect(config.httpPort == 8080)
        #expect(config.logLevel == .info)
        #expect(config.logFormat == .logfmt)
    }

    @Test(
        "a wrong value names the variable and what was expected",
        arguments: [
            (["BANKSYNC_HTTP_PORT": "eighty"], "BANKSYNC_HTTP_PORT", "integer"),
            (["BANKSYNC_HTTP_PORT": "70000"], "BANKSYNC_HTTP_PORT", "0-65535"),
            (["BANKSYNC_LOG_LEVEL": "loud"], "BANKSYNC_LOG_LEVEL", "expected trace"),
            (["BANKSYNC_LOG_FORMAT": "xml"], "BANKSYNC_LOG_FORMAT", "logfmt or json"),
            (["BANKSYNC_DATABASE_URL": "mongodb://x"], "BANKSYNC_DATABASE_URL", "unsupported scheme"),
            (["BANKSYNC_DATABASE_URL": "postgres://u@h/db"], "BANKSYNC_ENCRYPTION_KEYS", "required"),
            (["BANKSYNC_ENCRYPTION_KEYS": "k1:AAAAAAAAAAAAAAAAAAAAAA=="], "BANKSYNC_ENCRYPTION_KEYS", "expected 32 bytes"),
            (["BANKSYNC_ENCRYPTION_KEYS": "k1:not base64!"], "BANKSYNC_ENCRYPTION_KEYS", "not valid base64"),
            (["BANKSYNC_CONFIG_FILE": "/nonexistent/banksync.json"], "BANKSYNC_CONFIG_FILE", "cannot read"),
        ])
    func namesTheVariable(environment: [String: String], variable: String, expected: String) async {
        do {
            _ = try await BankSyncConfiguration.load(environment: environment)
            Issue.record("configuration accepted \(environment)")
        } catch let error as ConfigurationError {
            #expect(error.variable == variable)
            #expect(error.description.contains(expected), "\(error)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("postgres mode takes inline keys, and the error for a bad key never echoes it")
    func postgresKeys() async throws {
        let config = try await BankSyncConfiguration.load(environment: [
            "BANKSYNC_DATABASE_URL": "postgres://bank:pw@db:5432/bank", "BANKSYNC_ENCRYPTION_KEYS": key,
        ])
        #expect(config.keySource == .inline(spec: key, activeKeyID: nil))
        let ring = try config.loadKeyring(logger: Logger(label: "t"))
        #expect(ring.activeKeyID == "k1")
        let secret = "k1:c2VjcmV0LXNlY3JldA=="
        do {
            _ = try await BankSyncConfiguration.load(environment: ["BANKSYNC_ENCRYPTION_KEYS": secret])
            Issue.record("short key accepted")
        } catch let error as ConfigurationError {
            #expect(!error.description.contains("c2VjcmV0LXNlY3JldA=="))
        }
    }

    @Test("a key file in postgres mode must already exist: it is never generated per process")
    func postgresKeyFileNotCreated() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("missing-\(UUID().uuidString).key").path
        let config = try await BankSyncConfiguration.load(environment: [
            "BANKSYNC_DATABASE_URL": "postgres://bank:pw@db:5432/bank", "BANKSYNC_ENCRYPTION_KEY_FILE": path,
        ])
        #expect(throws: StoreError.self) { try config.loadKeyring(logger: Logger(label: "t")) }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("the JSON file supplies values and the environment overrides it")
    func fileAndEnvironment() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("banksync-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let json = #"{"database": {"url": "sqlite:///tmp/from-file.sqlite"}, "http": {"port": 9090, "host": "0.0.0.0"}, "log": {"format": "json"}}"#
        _ = FileManager.default.createFile(atPath: path, contents: Data(json.utf8))
        let config = try await BankSyncConfiguration.load(environment: [
            "BANKSYNC_CONFIG_FILE": path, "BANKSYNC_HTTP_PORT": "9191",
        ])
        #expect(config.databaseURL == .sqlite(path: "/tmp/from-file.sqlite"))
        #expect(config.httpHost == "0.0.0.0")
        #expect(config.httpPort == 9191)
        #expect(config.logFormat == .json)
    }
}
