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
/// | `BANKSYNC_SANDBOX_URL` | — | base URL of a `banksync sandbox`: all three providers point at it with its credentials |
/// | `BANKSYNC_PLAID_CLIENT_ID` / `BANKSYNC_PLAID_SECRET`* | — | enables Plaid |
/// | `BANKSYNC_PLAID_BASE_URL` | `https://production.plaid.com` | e.g. `https://sandbox.plaid.com` |
/// | `BANKSYNC_PLAID_WEBHOOK_URL` | — | where Plaid sends webhooks (this server's `/webhooks/plaid`) |
/// | `BANKSYNC_TELLER_CERTIFICATE` / `BANKSYNC_TELLER_PRIVATE_KEY` | — | PEM files; enable Teller (mutual TLS) |
/// | `BANKSYNC_TELLER_BASE_URL` | `https://api.teller.io` | |
/// | `BANKSYNC_TELLER_WEBHOOK_SECRETS`* | — | comma-separated signing secrets (rotation: old and new) |
/// | `BANKSYNC_GOCARDLESS_SECRET_ID` / `BANKSYNC_GOCARDLESS_SECRET_KEY`* | — | enables GoCardless |
/// | `BANKSYNC_GOCARDLESS_BASE_URL` | `https://bankaccountdata.gocardless.com` | |
/// | `BANKSYNC_RATE_LIMIT_PLAID` / `_TELLER` / `_GOCARDLESS` | 200 / 100 / 50 | requests a minute, shared by all processes |
/// | `BANKSYNC_CATEGORIZER_WEIGHTS` | the shipped model | a `.bscm` weights file (`banksync categorizer train`); a damaged one stops start-up |
/// | `BANKSYNC_CATEGORIZER_THRESHOLD` | `0.5` | the model's answer is used at or above this confidence (0…1) |
/// | `BANKSYNC_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES` | `false` | let webhook endpoints point at loopback and private addresses |
/// | `BANKSYNC_WEBHOOKS_TIMEOUT_SECONDS` | `10` | one delivery attempt's deadline (1…60) |
/// | `BANKSYNC_WEBHOOKS_CONCURRENCY` | `8` | webhook deliveries in flight per process (the `webhooks` queue) |
///
/// \* secrets: read only from the environment.
public struct BankSyncConfiguration: Sendable {
    /// How to reach the three providers. A provider without credentials is off: its jobs are
    /// discarded with a message saying so.
    public struct Providers: Sendable, Equatable {
        public struct Plaid: Sendable, Equatable {
            public var baseURL: String
            public var clientID: String
            public var secret: String
            public var webhookURL: String?
        }
        public struct Teller: Sendable, Equatable {
            public var baseURL: String
            /// PEM files for mutual TLS; nil against the sandbox (plain HTTP).
            public var certificatePath: String?
            public var privateKeyPath: String?
            public var webhookSecrets: [String]
        }
        public struct GoCardless: Sendable, Equatable {
            public var baseURL: String
            public var secretID: String
            public var secretKey: String
        }
        public var plaid: Plaid?
        public var teller: Teller?
        public var gocardless: GoCardless?
        /// Requests a minute per provider, shared through the database.
        public var ratePerMinute: [String: Double] = ["plaid": 200, "teller": 100, "gocardless": 50]

        public init(plaid: Plaid? = nil, teller: Teller? = nil, gocardless: GoCardless? = nil) {
            self.plaid = plaid
            self.teller = teller
            self.gocardless = gocardless
        }

        /// All three providers pointed at a `banksync sandbox` (its fixed sandbox credentials).
        public static func sandbox(baseURL: String, webhookBase: String? = nil) -> Providers {
            let base = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            return Providers(
                plaid: Plaid(baseURL: base + "/plaid", clientID: "sandbox-client-id", secret: "sandbox-secret", webhookURL: webhookBase.map { $0 + "/webhooks/plaid" }),
                teller: Teller(baseURL: base + "/teller", certificatePath: nil, privateKeyPath: nil, webhookSecrets: ["sandbox-teller-signing-secret"]),
                gocardless: GoCardless(baseURL: base + "/gocardless", secretID: "sandbox-secret-id", secretKey: "sandbox-secret-key"))
        }
    }

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
    public var providers: Providers
    /// A weights file instead of the shipped model.
    public var categorizerWeights: String?
    /// The model abstains below this confidence.
    public var categorizerThreshold: Double
    /// Outbound webhooks: whether endpoints may point at loopback/private addresses.
    public var webhooksAllowPrivateAddresses: Bool
    /// One delivery attempt's deadline, in seconds.
    public var webhooksTimeoutSeconds: Int
    /// Deliveries in flight per process.
    public var webhooksConcurrency: Int

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

        providers = try Self.providers(value: value, name: name, environment: environment)

        categorizerWeights = value("categorizer.weights").flatMap { $0.isEmpty ? nil : $0 }
        let thresholdText = value("categorizer.threshold") ?? "0.5"
        guard let threshold = Double(thresholdText), (0...1).contains(threshold) else {
            throw ConfigurationError(variable: name("categorizer.threshold"), message: "'\(thresholdText)' is not a confidence: expected a number from 0 to 1")
        }
        categorizerThreshold = threshold

        let allowText = (value("webhooks.allow_private_addresses") ?? "false").lowercased()
        guard ["true", "false", "1", "0", "yes", "no"].contains(allowText) else {
            throw ConfigurationError(variable: name("webhooks.allow_private_addresses"), message: "'\(allowText)' is not a boolean: expected true or false")
        }
        webhooksAllowPrivateAddresses = ["true", "1", "yes"].contains(allowText)
        let timeoutText = value("webhooks.timeout_seconds") ?? "10"
        guard let timeout = Int(timeoutText), (1...60).contains(timeout) else {
            throw ConfigurationError(variable: name("webhooks.timeout_seconds"), message: "'\(timeoutText)' is not a number of seconds from 1 to 60")
        }
        webhooksTimeoutSeconds = timeout
        let concurrencyText = value("webhooks.concurrency") ?? "8"
        guard let concurrency = Int(concurrencyText), (1...256).contains(concurrency) else {
            throw ConfigurationError(variable: name("webhooks.concurrency"), message: "'\(concurrencyText)' is not a concurrency from 1 to 256")
        }
        webhooksConcurrency = concurrency
    }

    static func providers(value: (String) -> String?, name: (String) -> String, environment: [String: String]) throws -> Providers {
        func secret(_ variable: String) -> String? { environment[variable].flatMap { $0.isEmpty ? nil : $0 } }
        func url(_ key: String, default fallback: String) throws -> String {
            let text = value(key) ?? fallback
            guard let parsed = URL(string: text), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                throw ConfigurationError(variable: name(key), message: "'\(text)' is not an http(s) URL")
            }
            return text.hasSuffix("/") ? String(text.dropLast()) : text
        }
        var providers = Providers()
        if let sandbox = value("sandbox.url"), !sandbox.isEmpty {
            providers = .sandbox(baseURL: try url("sandbox.url", default: sandbox), webhookBase: nil)
            providers.plaid?.webhookURL = value("plaid.webhook_url")
        }
        if let clientID = value("plaid.client_id"), !clientID.isEmpty {
            guard let secret = secret("BANKSYNC_PLAID_SECRET") else {
                throw ConfigurationError(variable: "BANKSYNC_PLAID_SECRET", message: "required with BANKSYNC_PLAID_CLIENT_ID (from the environment only)")
            }
            providers.plaid = .init(
                baseURL: try url("plaid.base_url", default: "https://production.plaid.com"), clientID: clientID, secret: secret,
                webhookURL: value("plaid.webhook_url"))
        }
        let certificate = value("teller.certificate")
        let key = value("teller.private_key")
        if certificate != nil || key != nil {
            guard let certificate, let key else {
                throw ConfigurationError(variable: certificate == nil ? "BANKSYNC_TELLER_CERTIFICATE" : "BANKSYNC_TELLER_PRIVATE_KEY", message: "Teller needs both the certificate and the private key")
            }
            providers.teller = .init(
                baseURL: try url("teller.base_url", default: "https://api.teller.io"), certificatePath: certificate, privateKeyPath: key,
                webhookSecrets: (secret("BANKSYNC_TELLER_WEBHOOK_SECRETS") ?? "").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty })
        }
        if let id = value("gocardless.secret_id"), !id.isEmpty {
            guard let key = secret("BANKSYNC_GOCARDLESS_SECRET_KEY") else {
                throw ConfigurationError(variable: "BANKSYNC_GOCARDLESS_SECRET_KEY", message: "required with BANKSYNC_GOCARDLESS_SECRET_ID (from the environment only)")
            }
            providers.gocardless = .init(baseURL: try url("gocardless.base_url", default: "https://bankaccountdata.gocardless.com"), secretID: id, secretKey: key)
        }
        for provider in ["plaid", "teller", "gocardless"] {
            guard let text = value("rate_limit.\(provider)") else { continue }
            guard let rate = Double(text), rate > 0 else {
                throw ConfigurationError(variable: name("rate_limit.\(provider)"), message: "'\(text)' is not a positive number of requests a minute")
            }
            providers.ratePerMinute[provider] = rate
        }
        return providers
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
