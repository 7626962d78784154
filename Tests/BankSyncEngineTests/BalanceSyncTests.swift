import AsyncHTTPClient
import BankSyncCore
import BankSyncEngine
import BankSyncProviders
import BankSyncSandbox
import BankSyncStore
import BankSyncTesting
import Foundation
import Logging
import Testing

@Suite("Balance sync against the sandbox")
struct BalanceSyncTests {
    @Test("Plaid, Teller and GoCardless balances are recorded in BankSync's sign and equal the bank's", arguments: TestEngine.available)
    func balances(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            var logger = Logger(label: "balance-test")
            logger.logLevel = .warning
            let world = SandboxWorld(configuration: .init(seed: 33, historyDays: 20))
            try await SandboxServer(world: world, logger: logger).withRunning { base in
                let plaid = PlaidClient(configuration: .init(baseURL: base + "/plaid", clientID: "sandbox-client-id", secret: "sandbox-secret"), client: HTTPClient.shared, logger: logger)
                let teller = TellerClient(configuration: .init(baseURL: base + "/teller"), client: HTTPClient.shared, logger: logger)
                let gocardless = GoCardlessClient(
                    configuration: .init(baseURL: base + "/gocardless", secretID: "sandbox-secret-id", secretKey: "sandbox-secret-key"), client: HTTPClient.shared,
                    logger: logger)

                // Plaid.
                let plaidCredential = try await plaid.exchange(publicToken: try await plaid.sandboxPublicToken(institutionID: "ins_109511"))
                let (_, plaidConnection) = try await WindowSyncTests.linked(store, provider: .plaid, credential: plaidCredential, accounts: try await plaid.accounts(plaidCredential))
                let plaidSync = BalanceSync(store: store, logger: logger) { credential, _ in try await plaid.balances(credential) }
                #expect(try await plaidSync.run(connectionID: plaidConnection.id) == 4)

                // Teller.
                let created = try JSONValue.parse(await world.control(SandboxRequest(method: "POST", path: "/connections", body: Array(#"{"provider": "teller"}"#.utf8))).body)
                let tellerCredential = ConnectionCredential(secret: try #require(created["access_token"]?.stringValue), externalID: try #require(created["id"]?.stringValue))
                let (_, tellerConnection) = try await WindowSyncTests.linked(store, provider: .teller, credential: tellerCredential, accounts: try await teller.accounts(tellerCredential))
                let tellerSync = BalanceSync(store: store, logger: logger) { credential, accounts in
                    var balances: [ProviderBalance] = []
                    for account in accounts {
                        balances.append(try await teller.balance(credential, account: ProviderAccount(providerAccountID: account.providerAccountID, name: account.name, type: account.type, currency: account.currency)))
                    }
                    return balances
                }
                #expect(try await tellerSync.run(connectionID: tellerConnection.id) == 3)

                // GoCardless.
                let session = try await gocardless.startLink(institutionID: "SEB_ESSESESS", redirect: "https://app.example/done", reference: "bal-\(engine)")
                _ = await world.completeGoCardlessConsent(requisition: session.token)
                let gcCredential = try await gocardless.completeLink(requisitionID: session.token)
                let (_, gcConnection) = try await WindowSyncTests.linked(store, provider: .gocardless, credential: gcCredential, accounts: try await gocardless.accounts(gcCredential))
                let gcSync = BalanceSync(store: store, logger: logger) { _, accounts in
                    var balances: [ProviderBalance] = []
                    for account in accounts { balances.append(try await gocardless.balance(accountID: account.providerAccountID)) }
                    return balances
                }
                #expect(try await gcSync.run(connectionID: gcConnection.id) == 4)

                // Every recorded balance equals the sandbox's truth, owed amounts negative.
                for connection in [plaidConnection, tellerConnection, gcConnection] {
                    for account in try await store.accounts.list(connectionID: connection.id) {
                        let stored = try #require(try await store.accounts.balance(accountID: account.id))
                        let truth = await world.balances(ofAccount: account.providerAccountID)
                        #expect(stored.current.minorUnits == truth.current, "\(connection.provider) \(account.type) current")
                        // A loan is always owed: negative in BankSync's sign (a card can be overpaid).
                        if account.type == .loan { #expect(stored.current.minorUnits < 0, "owed is negative") }
                    }
                }
            }
        }
    }
}
