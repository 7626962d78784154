import ArgumentParser
import BankSyncCore
import BankSyncServer
import BankSyncStore
import Logging

/// `banksync keys …`: tenants' API keys (`create`, `list`, `revoke`) and the keys that
/// encrypt provider tokens at rest (`generate`, `rotate`).
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Manage API keys and token encryption keys.",
        subcommands: [Create.self, List.self, Revoke.self, Generate.self, Rotate.self])

    /// A new API key for a tenant.
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API key for a tenant; the key is printed once.")

        @Option(help: "The tenant's id (banksync tenants list).") var tenant: String
        @Option(help: "A name to recognise the key by.") var name = "api"

        func run() async throws {
            try await Bootstrap.withStore { store in
                guard try await store.tenants.get(Identifier(tenant)) != nil else { throw Bootstrap.fail("no tenant \(tenant) (banksync tenants list)") }
                let (key, secret) = try await store.tenants.createAPIKey(tenantID: Identifier(tenant), name: name)
                print("key \(key.id) (\(key.prefix)…) for tenant \(tenant):\n\(secret)\nKeep it: only its hash is stored.")
            }
        }
    }

    /// A tenant's API keys.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a tenant's API keys (prefixes only).")

        @Option(help: "The tenant's id.") var tenant: String

        func run() async throws {
            try await Bootstrap.withStore { store in
                for key in try await store.tenants.apiKeys(tenantID: Identifier(tenant)) {
                    print("\(key.id)  \(key.prefix)…  \(key.name)  created \(key.createdAt)\(key.revokedAt.map { "  REVOKED \($0)" } ?? "")")
                }
            }
        }
    }

    /// Revokes an API key: requests with it are refused from then on.
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an API key.")

        @Argument(help: "The key's id (banksync keys list).") var id: String

        func run() async throws {
            try await Bootstrap.withStore { store in
                try await store.tenants.revokeAPIKey(Identifier(id))
                print("revoked \(id)")
            }
        }
    }

    /// Prints a new key for `BANKSYNC_ENCRYPTION_KEYS`.
    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new random key as id:base64, for BANKSYNC_ENCRYPTION_KEYS.")

        func run() async throws {
            print("\(Keyring.generateKeyID()):\(Keyring.generateKeyBase64())")
        }
    }

    /// Re-encrypts every stored token with the active key.
    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-encrypt every stored token with the active key.",
            discussion: """
                With a key file (embedded mode) --new-key first adds a fresh key to the file and makes it \
                active. With BANKSYNC_ENCRYPTION_KEYS, add the new key to the list, set \
                BANKSYNC_ENCRYPTION_ACTIVE_KEY to it, run this, then drop the old key once it reports 0 left.
                """)

        @Flag(name: .long, help: "Add a new key to the key file and make it active before re-encrypting.")
        var newKey = false

        func run() async throws {
            let configuration = try await Bootstrap.configuration()
            let logger = Logger(label: "banksync.keys")
            try await Bootstrap.reportingErrors {
                if newKey {
                    guard case .file(let path, _) = configuration.keySource else {
                        throw Bootstrap.fail(
                            "--new-key needs a key file; with BANKSYNC_ENCRYPTION_KEYS add the key to the list yourself")
                    }
                    _ = try configuration.loadKeyring(logger: logger)
                    let id = try KeyFile.addActiveKey(at: path)
                    print("added key \(id) to \(path) and made it active")
                }
                let keyring = try configuration.loadKeyring(logger: logger)
                try await Database.withDatabase(configuration.databaseURL, logger: logger) { database in
                    try await Migrator(database: database, logger: logger).ensureCompatible()
                    let store = Store(database: database, keyring: keyring)
                    let count = try await store.connections.reencryptTokens()
                    print("re-encrypted \(count) token(s) with key \(keyring.activeKeyID)")
                }
            }
        }
    }
}
