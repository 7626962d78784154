import ArgumentParser
import BankSyncSandbox
import BankSyncServer
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// `banksync sandbox`: local Plaid, Teller and GoCardless APIs over synthetic banks.
struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Serve local Plaid, Teller and GoCardless sandbox APIs with synthetic banks and fault injection.",
        discussion: """
            One port serves /plaid, /teller, /gocardless/api/v2 and the control API /sandbox/ \
            (GET it for credentials and institutions). See docs/SANDBOX.md.
            """)

    @Option(help: "Port to listen on (0: any free port).") var port = 8081
    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Seed of the synthetic world: the same seed and clock give the same data.") var seed: UInt64 = 42
    @Option(help: "The sandbox clock's start, YYYY-MM-DD (noon UTC).") var start = "2026-03-02"
    @Option(help: "Days of history a new connection comes with.") var historyDays = 90
    @Option(help: "GoCardless bank quota: successful calls per account, scope and day.") var gocardlessDailyLimit = 4

    func validate() throws {
        guard SandboxDay(parsing: start) != nil else { throw ValidationError("--start must be a date as YYYY-MM-DD, not \(start)") }
        guard (1...730).contains(historyDays) else { throw ValidationError("--history-days must be between 1 and 730") }
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
    }

    func run() async throws {
        Bootstrap.bootstrapLogging(format: .logfmt, level: .info)
        let logger = Logger(label: "banksync.sandbox")
        let day = SandboxDay(parsing: start)!
        let world = SandboxWorld(configuration: .init(
            seed: seed, start: Date(timeIntervalSince1970: Double(day.number) * 86_400 + 43_200), historyDays: historyDays,
            gocardlessDailyLimit: gocardlessDailyLimit))
        let server = SandboxServer(world: world, logger: logger)
        let host = self.host
        let app = server.application(host: host, port: port) { bound in
            let banner = """
                sandbox listening on http://\(host):\(bound)  (seed \(seed), clock \(day) 12:00 UTC)
                  Plaid       http://\(host):\(bound)/plaid              client_id=sandbox-client-id secret=sandbox-secret
                  Teller      http://\(host):\(bound)/teller             token: POST /sandbox/connections {"provider":"teller"}
                  GoCardless  http://\(host):\(bound)/gocardless/api/v2  secret_id=sandbox-secret-id secret_key=sandbox-secret-key
                  control     http://\(host):\(bound)/sandbox/

                """
            FileHandle.standardOutput.write(Data(banner.utf8))
        }
        let group = ServiceGroup(configuration: .init(services: [.init(service: app)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
