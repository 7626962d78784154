public import BankSyncStore
import Configuration
public import Foundation
public import Logging
import SystemPackage

/// Everything BankSync reads from its environment, parsed and checked once at start-up.
///
/// Sources, highest precedence first: environment variables (`BANKSYNC_*`), then the JSON file
/// named by `BANKSYNC_CONFIG_FILE`, whose keys are the variable names without `BANKSYNC_`,
/// lower-cased and nested at each `_` group: `{"database": {"url": "…"}, "http": {"port": 8080}}`.
/// Secrets (`BANKSYNC_ENCRYPTION_KEYS`) are accepted only from the environment, never the file.
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `BANKSYNC_DATABASE_URL` | `sqlite://./banksync.sqlite` | `sqlite://PATH` or `postgres://USER:PASS@HOST:PORT/DB` |
/// | `BANKSYNC_ENCRYPTION_KEYS` | — | `id:base64key[,id:base64key…]`, 32-byte AES keys |
/// | `BANKSYNC_ENCRYPTION_ACTIVE_KEY` | last listed | id of the key new tokens are sealed with |
/// | `BANKSYNC_ENCRYPTION_KEY_FILE` | `<sqlite path>.key` in embedded mode | JSON key file (mode 0600) |
/// | `BANKSYNC_HTTP_HOST` | `127.0.0.1` | address `serve` binds |
/// | `BANKSYNC_HTTP_PORT` | `8080` | port `serve` binds (0 = any free port) |
/// | `BANKSYNC_LOG_LEVEL` | `info` | trace, debug, info, notice, warning, error, critical |
/// | `BANKSYNC_LOG_FORMAT` | `logfmt` | logfmt or json |
public struct BankSyncConfiguration: Sendable {
    /// Where tokens' encryption keys come from.
    public enum KeySource: Sendable, Equatable {
        /// Keys given inline (distributed mode: every process gets the same keys).
        case inline(spec: String, activeKeyID: String?)
        /// A key file; `createIfMissing` only in embedded mode, where one process owns it.
        case file(path: String, createIfMissing: Bool)
    }

    public var databaseURL: DatabaseURL
    public var keySource: KeySource
    public var httpHost: String
    public var httpPort: Int
    public var logLevel: Logger.Level
    public var logFormat: LogFormat

    /// Reads the configuration from the process environment and the optional file.
    /// - Throws: ``ConfigurationError`` naming the first wrong variable.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) async throws
        -> BankSyncConfiguration
    {
        // Environment keys are `banksync.database.url` (→ BANKSYNC_DATABASE_URL); the file's are
        // `database.url`. Two readers, asked in precedence order.
        var readers = [(ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: environment)), "banksync.")]
        if let path = environment["BANKSYNC_CONFIG_FILE"], !path.isEmpty {
            do {
                readers.append((ConfigReader(provider: try await FileProvider<JSONSnapshot>(filePath: FilePath(path))), ""))
            } catch {
                throw ConfigurationError(
                    variable: "BANKSYNC_CONFIG_FILE", message: "cannot read JSON configuration file \(path): \(error)")
            }
        }
        return try BankSyncConfiguration(readers: readers, environment: environment)
    }

    init(readers: [(ConfigReader, String)], environment: [String: String]) throws {
        func value(_ key: String) -> String? {
            for (reader, prefix) in readers {
                let configKey = ConfigKey(prefix + key)
                if let s = reader.string(forKey: configKey) { return s }
                if let i = reader.int(forKey: configKey) { return String(i) }
            }
            return nil
        }
        func name(_ key: String) -> String { "BANKSYNC_" + key.uppercased().replacingOccurrences(of: ".", with: "_") }

        let urlText = value("database.url") ?? "sqlite://./banksync.sqlite"
        do { databaseURL = try DatabaseURL(parsing: urlText) } catch {
            throw ConfigurationError(variable: name("database.url"), message: error.message)
        }

        // Secrets come only from the environment, so a config file cannot leak them into a repo.
        if let spec = environment["BANKSYNC_ENCRYPTION_KEYS"], !spec.isEmpty {
            let active = environment["BANKSYNC_ENCRYPTION_ACTIVE_KEY"].flatMap { $0.isEmpty ? nil : $0 }
            do { _ = try Keyring(parsing: spec, activeKeyID: active) } catch {
                throw ConfigurationError(variable: "BANKSYNC_ENCRYPTION_KEYS", message: error.message)
            }
            keySource = .inline(spec: spec, activeKeyID: active)
        } else if let path = value("encryption.key_file"), !path.isEmpty {
            keySource = .file(path: path, createIfMissing: databaseURL.engine == .sqlite)
        } else {
            switch databaseURL {
            case .sqlite(let path): keySource = .file(path: path + ".key", createIfMissing: true)
            case .sqliteMemory: keySource = .inline(spec: "memory:" + Keyring.generateKeyBase64(), activeKeyID: "memory")
            case .postgres:
                throw ConfigurationError(
                    variable: "BANKSYNC_ENCRYPTION_KEYS",
                    message:
                        "required with a postgres:// database (every process must share the keys): set it to id:base64key, e.g. the output of `banksync keys generate`"
                )
            }
        }

        httpHost = value("http.host") ?? "127.0.0.1"
        let portText = value("http.port") ?? "8080"
        guard let port = Int(portText), (0...65_535).contains(port) else {
            throw ConfigurationError(variable: name("http.port"), message: "'\(portText)' is not a port: expected an integer 0-65535")
        }
        httpPort = port

        let levelText = (value("log.level") ?? "info").lowercased()
        guard let level = Logger.Level(rawValue: levelText) else {
            throw ConfigurationError(
                variable: name("log.level"),
                message: "'\(levelText)' is not a log level: expected trace, debug, info, notice, warning, error or critical")
        }
        logLevel = level
        let formatText = (value("log.format") ?? "logfmt").lowercased()
        guard let format = LogFormat(rawValue: formatText) else {
            throw ConfigurationError(variable: name("log.format"), message: "'\(formatText)' is not a log format: expected logfmt or json")
        }
        logFormat = format
    }

    /// Loads (or, in embedded mode, creates) the keyring this configuration names.
    /// - Throws: ``StoreError`` `.missingKey` with the cause.
    public func loadKeyring(logger: Logger) throws -> Keyring {
        switch keySource {
        case .inline(let spec, let active): return try Keyring(parsing: spec, activeKeyID: active)
        case .file(let path, let create):
            if !create && !FileManager.default.fileExists(atPath: path) {
                throw StoreError(.missingKey, "key file \(path) (BANKSYNC_ENCRYPTION_KEY_FILE) does not exist; with PostgreSQL it is never created automatically")
            }
            return try KeyFile.loadOrCreate(at: path, logger: logger)
        }
    }
}
