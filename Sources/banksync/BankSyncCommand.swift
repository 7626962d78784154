import ArgumentParser

/// The `banksync` executable.
@main
struct BankSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "banksync",
        abstract: "A self-hostable bank and transaction sync engine.",
        discussion: "Configuration comes from BANKSYNC_* environment variables; see README.md.",
        version: BankSyncVersion.string,
        subcommands: [
            DemoCommand.self, MigrateCommand.self, ServeCommand.self, WorkerCommand.self, SandboxCommand.self, TenantsCommand.self, KeysCommand.self, SchedulesCommand.self, VersionCommand.self,
            BenchCommand.self, CategorizerCommand.self,
        ]
    )
}

/// The release of this binary.
enum BankSyncVersion {
    static let string = "0.1.0"
}
