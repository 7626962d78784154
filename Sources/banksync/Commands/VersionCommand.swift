import ArgumentParser
import BankSyncStore

/// `banksync version`: the release and the schema version this binary writes.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")

    func run() {
        print("banksync \(BankSyncVersion.string) (schema version \(Migrator.latestVersion))")
    }
}
