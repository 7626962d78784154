import ArgumentParser
import BankSyncServer
import BankSyncStore
import Logging

/// `banksync keys …`: manage the keys that encrypt provider tokens at rest.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Manage token encryption keys.",
        subcommands: [Generate.self, Rotate.self])

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
