import AsyncHTTPClient
import BankSyncCore
import BankSyncProviders
import BankSyncSandbox
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Testing

/// Runs `body` with the three clients pointed at a sandbox on a free loopback port.
func withProviders(
    seed: UInt64 = 3, webhook: String? = nil, deliverWebhooks: Bool = true,
    _ body: (SandboxWorld, String, PlaidClient, TellerClient, GoCardlessClient) async throws -> Void
) async throws {
    var logger = Logger(label: "providers-test")
    logger.logLevel = .warning
    let world = SandboxWorld(configuration: .init(seed: seed, historyDays: 40))
    try await SandboxServer(world: world, logger: logger).withRunning(deliverWebhooks: deliverWebhooks) { base in
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let plaid = PlaidClient(
                configuration: .init(baseURL: base + "/plaid", clientID: "sandbox-client-id", secret: "sandbox-secret", webhookURL: webhook), client: http,
                logger: logger)
            let teller = TellerClient(configuration: .init(baseURL: base + "/teller"), client: http, logger: logger)
            let gocardless = GoCardlessClient(
                configuration: .init(baseURL: base + "/gocardless", secretID: "sandbox-secret-id", secretKey: "sandbox-secret-key"), client: http, logger: logger)
            try await body(world, base, plaid, teller, gocardless)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }
}

/// The ground truth of an account from the world, as (provider id → minor units).
func truthAmounts(_ world: SandboxWorld, account: String) async -> [String: Int64] {
    Dictionary(uniqueKeysWithValues: await world.currentTransactions(ofAccount: account).map { ($0.id, $0.amount) })
}

@Suite("Provider clients against the sandbox")
struct ProviderClientTests {
    @Test("Plaid: link, accounts, balances and a full sync match the bank, with BankSync's signs")
    func plaid() async throws {
        try await withProviders { world, _, plaid, _, _ in
            let link = try await plaid.createLinkToken(userID: "user-1")
            #expect(link.token.hasPrefix("link-sandbox-"))
            let credential = try await plaid.exchange(publicToken: try await plaid.sandboxPublicToken(institutionID: "ins_109509"))
            let accounts = try await plaid.accounts(credential)
            #expect(accounts.map(\.type) == [.depository, .depository, .credit, .loan])
            let balances = try await plaid.balances(credential)
            for balance in balances {
                let truth = await world.balances(ofAccount: balance.providerAccountID)
                #expect(balance.current.minorUnits == truth.current, "current of \(balance.providerAccountID) in BankSync's sign")
            }
            let delta = try await plaid.transactionChanges(credential, since: nil, pageSize: 50)
            #expect(delta.pages > 1)
            for account in accounts {
                let truth = await truthAmounts(world, account: account.providerAccountID)
                let synced = Dictionary(uniqueKeysWithValues: delta.added.filter { $0.providerAccountID == account.providerAccountID }.map { ($0.providerTransactionID!, $0.amount.minorUnits) })
                #expect(synced == truth)
            }
            // Incremental: after a few days the delta names the pending rows that went.
            await world.advance(seconds: 3 * 86_400)
            let next = try await plaid.transactionChanges(credential, since: delta.nextCursor)
            #expect(!next.added.isEmpty && !next.removed.isEmpty)
            #expect(next.added.contains { $0.pendingTransactionID != nil })
        }
    }

    @Test("Plaid: mutation during pagination restarts from the first cursor; errors are classified")
    func plaidErrors() async throws {
        try await withProviders { world, _, plaid, _, _ in
            let credential = try await plaid.exchange(publicToken: try await plaid.sandboxPublicToken(institutionID: "ins_109508"))
            await world.setFaults([FaultRule(provider: .plaid, endpoint: "/transactions/sync", kind: .mutationDuringPagination, calls: [2])])
            let delta = try await plaid.transactionChanges(credential, since: nil, pageSize: 20)
            #expect(delta.restarts == 1)
            let total = await world.accounts(ofConnection: credential.externalID).asyncMap { await world.currentTransactions(ofAccount: $0.id).count }.reduce(0, +)
            #expect(delta.added.count == total, "the restarted walk is complete, not doubled")

            await world.setFaults([FaultRule(provider: .plaid, endpoint: "/accounts/get", kind: .rateLimit, calls: [1]),
                                   FaultRule(provider: .plaid, endpoint: "/accounts/get", kind: .serverError, calls: [2]),
                                   FaultRule(provider: .plaid, endpoint: "/accounts/get", kind: .malformedJSON, calls: [3])])
            await #expect { try await plaid.accounts(credential) } throws: { ($0 as? ProviderError).map { if case .rateLimited = $0.kind { true } else { false } } ?? false }
            await #expect { try await plaid.accounts(credential) } throws: { ($0 as? ProviderError)?.kind == .transient }
            await #expect { try await plaid.accounts(credential) } throws: { ($0 as? ProviderError)?.code == "malformed_response" }
            #expect(try await plaid.accounts(credential).count == 4)

            _ = await world.setState(.loginRequired(reason: "ITEM_LOGIN_REQUIRED"), ofConnection: credential.externalID)
            await #expect { try await plaid.accounts(credential) } throws: { error in
                let e = error as? ProviderError
                return e?.kind == .reauthRequired && e?.code == "ITEM_LOGIN_REQUIRED" && e?.requestID != nil
            }
            #expect(try await plaid.health(credential) == .reauthRequired(reason: "ITEM_LOGIN_REQUIRED"))
            try await plaid.remove(credential)
            await #expect { try await plaid.accounts(credential) } throws: { ($0 as? ProviderError)?.kind == .invalidToken }

            let wrong = PlaidClient(configuration: .init(baseURL: plaid.configuration.baseURL, clientID: "x", secret: "y"), client: HTTPClient.shared, logger: Logger(label: "x"))
            await #expect { try await wrong.createLinkToken(userID: "u") } throws: { ($0 as? ProviderError)?.kind == .permanent }
        }
    }

    @Test("Teller: credit-card purchases come out negative; windows page with from_id; disconnection means reauth")
    func teller() async throws {
        try await withProviders { world, base, _, teller, _ in
            var request = HTTPClientRequest(url: base + "/sandbox/connections")
            request.method = .POST
            request.body = .bytes(.init(string: #"{"provider": "teller"}"#))
            let reply = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            let created = try JSONValue.parse(Array(try await reply.body.collect(upTo: 1 << 20).readableBytesView))
            let credential = ConnectionCredential(secret: try #require(created["access_token"]?.stringValue), externalID: try #require(created["id"]?.stringValue))
            let accounts = try await teller.accounts(credential)
            #expect(accounts.map(\.type) == [.depository, .depository, .credit])
            let today = try CalendarDate(parsing: "2026-03-02")
            let start = try CalendarDate(parsing: "2026-01-20")
            for account in accounts {
                let window = try await teller.transactions(credential, account: account, from: start, to: today, pageSize: 9)
                let truth = await world.currentTransactions(ofAccount: account.providerAccountID).filter { $0.date.description >= "2026-01-20" }
                #expect(Set(window.transactions.compactMap(\.providerTransactionID)) == Set(truth.map(\.id)))
                for row in window.transactions {
                    let expected = truth.first { $0.id == row.providerTransactionID }!
                    #expect(row.amount.minorUnits == expected.amount, "BankSync sign on \(account.type)")
                }
                if account.type == .credit {
                    #expect(window.transactions.contains { $0.amount.minorUnits < 0 }, "card purchases are outflows")
                }
                let balance = try await teller.balance(credential, account: account)
                #expect(balance.current.minorUnits == (await world.balances(ofAccount: account.providerAccountID)).current)
            }
            _ = await world.setState(.loginRequired(reason: "user_action.mfa_required"), ofConnection: credential.externalID)
            await #expect { try await teller.accounts(credential) } throws: { error in
                let e = error as? ProviderError
                return e?.kind == .reauthRequired && e?.code == "enrollment.disconnected.user_action.mfa_required"
            }
            #expect(try await teller.health(credential) == .reauthRequired(reason: "enrollment.disconnected.user_action.mfa_required"))
            await #expect { try await teller.accounts(ConnectionCredential(secret: "test_token_nope", externalID: "x")) } throws: { ($0 as? ProviderError)?.kind == .invalidToken }
            #expect(throws: ProviderError.self) { try TellerClient.makeHTTPClient(certificatePath: "/nonexistent/cert.pem", privateKeyPath: "/nonexistent/key.pem") }
        }
    }

    @Test("GoCardless: one app token for many calls, refreshed when it lapses; quota readings and exhaustion; expiry")
    func gocardless() async throws {
        let readings = QuotaLog()
        try await withProviders { world, base, _, _, _ in
            var logger = Logger(label: "gc")
            logger.logLevel = .warning
            let gocardless = GoCardlessClient(
                configuration: .init(baseURL: base + "/gocardless", secretID: "sandbox-secret-id", secretKey: "sandbox-secret-key"), client: HTTPClient.shared,
                logger: logger, limits: readings)
            let session = try await gocardless.startLink(institutionID: "REVOLUT_REVOGB21", redirect: "https://app.example/back", reference: "r-1", maxHistoricalDays: 60)
            #expect(session.url?.hasPrefix(base) == true)
            _ = await world.completeGoCardlessConsent(requisition: session.token)
            let credential = try await gocardless.completeLink(requisitionID: session.token)
            let accounts = try await gocardless.accounts(credential)
            #expect(accounts.map(\.type) == [.depository, .depository, .credit, .loan])
            #expect(accounts.allSatisfy { $0.currency.code == "GBP" })
            let checking = accounts[0].providerAccountID
            let today = try CalendarDate(parsing: "2026-03-02")
            let from = try CalendarDate(parsing: "2026-01-15")
            let window = try await gocardless.transactions(accountID: checking, from: from, to: today)
            let truth = await world.currentTransactions(ofAccount: checking).filter { $0.date.description >= "2026-01-15" }
            #expect(window.transactions.count == truth.count)
            #expect(window.transactions.filter(\.isPending).allSatisfy { $0.providerTransactionID == nil })
            #expect(Set(window.transactions.compactMap(\.providerTransactionID)) == Set(truth.filter { !$0.pending }.map(\.id)))
            let balance = try await gocardless.balance(accountID: checking)
            #expect(balance.current.minorUnits == (await world.balances(ofAccount: checking)).current)
            #expect(await gocardless.newTokenCalls == 1, "one token/new for all of that")

            // Two more transaction calls spend the quota of 4 (details used none of it).
            _ = try await gocardless.transactions(accountID: checking, from: from, to: today)
            _ = try await gocardless.transactions(accountID: checking, from: from, to: today)
            _ = try await gocardless.transactions(accountID: checking, from: from, to: today)
            let last = await readings.all.last
            #expect(last?.scope == "transactions" && last?.remaining == 0 && last?.limit == 4)
            await #expect { try await gocardless.transactions(accountID: checking, from: from, to: today) } throws: { error in
                if case .quotaExhausted(let reset) = (error as? ProviderError)?.kind { return reset != nil }
                return false
            }
            // A day later the access token (24 h) has lapsed on the sandbox clock: the 401 makes
            // the client refresh it, not ask for a new pair.
            await world.advance(seconds: 86_400 + 120)
            _ = try await gocardless.balance(accountID: checking)
            #expect(await gocardless.newTokenCalls == 1)

            _ = await world.control(SandboxRequest(method: "POST", path: "/connections/\(await world.allConnections().last!.id)/expire"))
            await #expect { try await gocardless.transactions(accountID: checking, from: from, to: today) } throws: { ($0 as? ProviderError)?.kind == .consentExpired }
        }
    }

    @Test("webhooks: Plaid ES256 and Teller HMAC verify; tampering, staleness and wrong algorithms are refused")
    func webhooks() async throws {
        // The webhooks are taken from the world's outbox, so the server must not send them.
        try await withProviders(deliverWebhooks: false) { world, _, plaid, _, _ in
            // Plaid: sign a body the way the sandbox does, by firing a webhook and taking it from the outbox.
            let plaidWithHook = PlaidClient(
                configuration: .init(baseURL: plaid.configuration.baseURL, clientID: "sandbox-client-id", secret: "sandbox-secret", webhookURL: "http://127.0.0.1:9/none"),
                client: HTTPClient.shared, logger: Logger(label: "x"))
            let credential = try await plaidWithHook.exchange(publicToken: try await plaidWithHook.sandboxPublicToken(institutionID: "ins_109508"))
            _ = await world.takeOutbox()
            try await plaidWithHook.refreshTransactions(credential)
            let hook = try #require(await world.takeOutbox().first)
            let header = hook.headers.first { $0.0 == "plaid-verification" }?.1
            let verifier = PlaidWebhookVerifier { try await plaid.webhookKey(id: $0) }
            let sent = Date(timeIntervalSince1970: Double(await world.now))
            try await verifier.verify(header: header, body: hook.body, now: sent)
            await #expect(throws: WebhookVerificationError.self) { try await verifier.verify(header: header, body: hook.body + [0x20], now: sent) }
            await #expect(throws: WebhookVerificationError.self) { try await verifier.verify(header: header, body: hook.body, now: sent.addingTimeInterval(301)) }
            await #expect(throws: WebhookVerificationError.self) { try await verifier.verify(header: nil, body: hook.body, now: sent) }
            let none = "eyJhbGciOiJub25lIn0." + (header?.split(separator: ".")[1] ?? "") + "."
            await #expect(throws: WebhookVerificationError.self) { try await verifier.verify(header: none, body: hook.body, now: sent) }

            // Teller.
            await world.setTellerWebhookURL("http://127.0.0.1:9/none")
            let created = await world.control(SandboxRequest(method: "POST", path: "/connections", body: Array(#"{"provider": "teller"}"#.utf8)))
            let id = try #require((try JSONValue.parse(created.body))["id"]?.stringValue)
            _ = await world.takeOutbox()
            _ = await world.setState(.loginRequired(reason: "credentials_invalid"), ofConnection: id)
            let tellerHook = try #require(await world.takeOutbox().first)
            let signature = tellerHook.headers.first { $0.0 == "teller-signature" }?.1
            let tellerVerifier = TellerWebhookVerifier(secrets: ["old-secret", "sandbox-teller-signing-secret"])
            let at = Date(timeIntervalSince1970: Double(await world.now))
            try tellerVerifier.verify(header: signature, body: tellerHook.body, now: at)
            #expect(throws: WebhookVerificationError.self) { try tellerVerifier.verify(header: signature, body: tellerHook.body, now: at.addingTimeInterval(181)) }
            #expect(throws: WebhookVerificationError.self) { try TellerWebhookVerifier(secrets: ["other"]).verify(header: signature, body: tellerHook.body, now: at) }
            #expect(throws: WebhookVerificationError.self) { try tellerVerifier.verify(header: signature, body: Array("{}".utf8), now: at) }
        }
    }
}

/// Records quota readings and admits everything (the database-backed limits have their own tests).
actor QuotaLog: ProviderLimits {
    var all: [QuotaReading] = []
    func admit(_ provider: Provider) async throws {}
    func admitScoped(_ provider: Provider, accountID: String, scope: String) async throws {}
    func record(_ reading: QuotaReading) { all.append(reading) }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async -> T) async -> [T] {
        var out: [T] = []
        for element in self { out.append(await transform(element)) }
        return out
    }
}
