import BankSyncCore
import BankSyncSandbox
import Foundation
import Testing

@Suite("GoCardless sandbox")
struct GoCardlessSandboxTests {
    static func token(_ sandbox: SandboxHarness) async throws -> String {
        let reply = try await sandbox.call("POST", "/gocardless/api/v2/token/new/", body: #"{"secret_id": "sandbox-secret-id", "secret_key": "sandbox-secret-key"}"#)
        #expect(reply.json["access_expires"]?.intValue == 86_400)
        #expect(reply.json["refresh_expires"]?.intValue == 2_592_000)
        return try #require(reply.json["access"]?.stringValue)
    }

    @Test("token, agreement, requisition, consent link, then accounts with booked and pending transactions")
    func linkFlow() async throws {
        try await withSandbox { sandbox in
            let access = try await Self.token(sandbox)
            #expect(access.split(separator: ".").count == 3, "JWT-shaped")
            let auth = [("authorization", "Bearer \(access)")]
            let institutions = try await sandbox.call("GET", "/gocardless/api/v2/institutions/?country=gb", headers: auth)
            #expect(institutions.json.arrayValue?.contains { $0["id"]?.stringValue == "SANDBOXFINANCE_SFIN0000" } == true)
            let agreement = try await sandbox.call(
                "POST", "/gocardless/api/v2/agreements/enduser/", body: #"{"institution_id": "N26_NTSBDEB1", "max_historical_days": 30, "access_valid_for_days": 90}"#, headers: auth)
            #expect(agreement.status == 201)
            let agreementID = try #require(agreement.json["id"]?.stringValue)
            let requisition = try await sandbox.call(
                "POST", "/gocardless/api/v2/requisitions/",
                body: #"{"redirect": "https://app.example/back", "institution_id": "N26_NTSBDEB1", "agreement": "\#(agreementID)", "reference": "user-42"}"#, headers: auth)
            #expect(requisition.status == 201)
            #expect(requisition.json["status"]?.stringValue == "CR")
            let link = try #require(requisition.json["link"]?.stringValue)
            let requisitionID = try #require(requisition.json["id"]?.stringValue)
            // The user goes through the bank's screens and comes back with ?ref=.
            let consent = try await sandbox.call("GET", String(link.dropFirst(sandbox.base.count)))
            #expect(consent.status == 302)
            #expect(consent.header("location") == "https://app.example/back?ref=user-42")
            let linked = try await sandbox.call("GET", "/gocardless/api/v2/requisitions/\(requisitionID)/", headers: auth)
            #expect(linked.json["status"]?.stringValue == "LN")
            let accountIDs = linked.json["accounts"]?.arrayValue?.compactMap { $0.stringValue } ?? []
            #expect(accountIDs.count == 4)
            let duplicate = try await sandbox.call(
                "POST", "/gocardless/api/v2/requisitions/", body: #"{"redirect": "https://app.example/back", "institution_id": "N26_NTSBDEB1", "reference": "user-42"}"#, headers: auth)
            #expect(duplicate.status == 400)
            #expect(duplicate.json["reference"]?["summary"]?.stringValue == "Client reference must be unique")

            let checking = accountIDs[0]
            let metadata = try await sandbox.call("GET", "/gocardless/api/v2/accounts/\(checking)/", headers: auth)
            #expect(metadata.json["status"]?.stringValue == "READY")
            #expect(metadata.json["iban"]?.stringValue?.hasPrefix("DE") == true)
            let transactions = try await sandbox.call("GET", "/gocardless/api/v2/accounts/\(checking)/transactions/", headers: auth)
            #expect(transactions.status == 200)
            let booked = try #require(transactions.json["transactions"]?["booked"]?.arrayValue)
            let pending = try #require(transactions.json["transactions"]?["pending"]?.arrayValue)
            #expect(!booked.isEmpty && !pending.isEmpty)
            #expect(booked.allSatisfy { $0["internalTransactionId"]?.stringValue?.count == 32 })
            #expect(pending.allSatisfy { $0["internalTransactionId"] == nil && $0["transactionId"] == nil })
            #expect(booked.allSatisfy { $0["transactionAmount"]?["currency"]?.stringValue == "EUR" })
            // The agreement's 30 days of history bound the window.
            let oldest = booked.compactMap { $0["bookingDate"]?.stringValue }.min() ?? ""
            #expect(oldest >= SandboxDay(parsing: "2026-03-02")!.adding(days: -30).description)
            // Booked amounts and the truth agree (negative = money out on both).
            let truth = try await sandbox.truth(account: checking)
            for row in booked {
                let match = truth["transactions"]?.arrayValue?.first { $0["id"]?.stringValue == row["internalTransactionId"]?.stringValue }
                let amount = try #require(row["transactionAmount"]?["amount"]?.stringValue)
                let minor = try #require(match?["amount_minor_units"]?.intValue)
                #expect(Decimal(string: amount)! * 100 == Decimal(minor))
            }
            let balances = try await sandbox.call("GET", "/gocardless/api/v2/accounts/\(checking)/balances/", headers: auth)
            #expect(balances.json["balances"]?.arrayValue?.map { $0["balanceType"]?.stringValue ?? "" } == ["interimAvailable", "interimBooked"])
        }
    }

    @Test("four successful calls per account and scope a day, announced in http_x_ratelimit headers; then 429 until midnight")
    func dailyQuota() async throws {
        try await withSandbox { sandbox in
            let auth = [("authorization", "Bearer \(try await Self.token(sandbox))")]
            let connection = try await sandbox.createConnection("gocardless")
            let account = try #require(connection["accounts"]?.arrayValue?.first?.stringValue)
            for remaining in (0..<4).reversed() {
                let reply = try await sandbox.call("GET", "/gocardless/api/v2/accounts/\(account)/transactions/", headers: auth)
                #expect(reply.status == 200)
                #expect(reply.header("http_x_ratelimit_account_success_limit") == "4")
                #expect(reply.header("http_x_ratelimit_account_success_remaining") == "\(remaining)")
            }
            let spent = try await sandbox.call("GET", "/gocardless/api/v2/accounts/\(account)/transactions/", headers: auth)
            #expect(spent.status == 429)
            #expect(spent.json["type"]?.stringValue == "RateLimitError")
            #expect(spent.json["detail"]?.stringValue == "Daily request limit set by the Institution has been exceeded.")
            #expect(spent.header("http_x_ratelimit_account_success_reset") == "43200")
            // Another scope has its own budget; the metadata endpoint is not a bank call.
            #expect(try await sandbox.call("GET", "/gocardless/api/v2/accounts/\(account)/balances/", headers: auth).status == 200)
            #expect(try await sandbox.call("GET", "/gocardless/api/v2/accounts/\(account)/", headers: auth).status == 200)
            _ = try await sandbox.advance(days: 1)
            let fresh = [("authorization", "Bearer \(try await Self.token(sandbox))")]
            #expect(try await sandbox.call("GET", "/gocardless/api/v2/accounts/\(account)/transactions/", headers: fresh).status == 200)
        }
    }

    @Test("expired tokens and agreements answer 401 in GoCardless's envelope; refresh gives a new access token")
    func expiry() async throws {
        try await withSandbox { sandbox in
            let tokens = try await sandbox.call("POST", "/gocardless/api/v2/token/new/", body: #"{"secret_id": "sandbox-secret-id", "secret_key": "sandbox-secret-key"}"#).json
            let access = try #require(tokens["access"]?.stringValue)
            let refresh = try #require(tokens["refresh"]?.stringValue)
            let connection = try await sandbox.createConnection("gocardless")
            let account = try #require(connection["accounts"]?.arrayValue?.first?.stringValue)
            _ = try await sandbox.call("POST", "/sandbox/clock/advance", body: #"{"seconds": 86401}"#)
            let stale = try await sandbox.call("GET", "/gocardless/api/v2/accounts/\(account)/", headers: [("authorization", "Bearer \(access)")])
            #expect(stale.status == 401)
            #expect(stale.json["summary"]?.stringValue == "Invalid token")
            #expect(stale.json["status_code"]?.intValue == 401)
            let renewed = try await sandbox.call("POST", "/gocardless/api/v2/token/refresh/", body: #"{"refresh": "\#(refresh)"}"#)
            let fresh = try #require(renewed.json["access"]?.stringValue)
            #expect(try await sandbox.call("GET", "/gocardless/api/v2/accounts/\(account)/", headers: [("authorization", "Bearer \(fresh)")]).status == 200)

            _ = try await sandbox.call("POST", "/sandbox/connections/\(connection["id"]!.stringValue!)/expire")
            let expired = try await sandbox.call("GET", "/gocardless/api/v2/accounts/\(account)/transactions/", headers: [("authorization", "Bearer \(fresh)")])
            #expect(expired.status == 401)
            #expect(expired.json["type"]?.stringValue == "EUAExpiredError")
            let requisitionID = try #require(connection["requisition_id"]?.stringValue)
            let requisition = try await sandbox.call("GET", "/gocardless/api/v2/requisitions/\(requisitionID)/", headers: [("authorization", "Bearer \(fresh)")])
            #expect(requisition.json["status"]?.stringValue == "EX")
            let wrong = try await sandbox.call("POST", "/gocardless/api/v2/token/new/", body: #"{"secret_id": "x", "secret_key": "y"}"#)
            #expect(wrong.status == 401)
            let missing = try await sandbox.call("POST", "/gocardless/api/v2/token/new/", body: #"{}"#)
            #expect(missing.status == 400)
            #expect(missing.json["secret_id"]?["summary"]?.stringValue == "This field is required.")
            let badRange = try await sandbox.call("GET", "/gocardless/api/v2/accounts/\(account)/transactions/?date_from=2026-03-01&date_to=2026-02-01", headers: [("authorization", "Bearer \(fresh)")])
            #expect(badRange.status == 401 || badRange.status == 400)
            #expect(try await sandbox.call("GET", "/gocardless/api/v2/institutions", headers: [("authorization", "Bearer \(fresh)")]).status == 200, "a missing trailing slash is tolerated")
            #expect(try await sandbox.call("GET", "/gocardless/api/v1/institutions/", headers: [("authorization", "Bearer \(fresh)")]).status == 404)
        }
    }
}

@Suite("Sandbox faults and determinism")
struct SandboxFaultTests {
    @Test("a scripted fault fires on the named call with the provider's own shape; the rest pass")
    func scripted() async throws {
        try await withSandbox { sandbox in
            let (token, _) = try await sandbox.linkPlaid()
            let set = try await sandbox.call("PUT", "/sandbox/faults", body: #"{"rules": [{"provider": "plaid", "endpoint": "/transactions/sync", "kind": "rate_limit", "calls": [2]}, {"provider": "plaid", "endpoint": "/accounts/get", "kind": "truncated_json", "calls": [1]}]}"#)
            #expect(set.status == 200, "\(set.text)")
            let first = try await sandbox.plaid("/transactions/sync", #""access_token": "\#(token)""#)
            #expect(first.status == 200)
            let second = try await sandbox.plaid("/transactions/sync", #""access_token": "\#(token)""#)
            #expect(second.status == 429)
            #expect(second.json["error_type"]?.stringValue == "RATE_LIMIT_EXCEEDED")
            #expect(second.json["error_code"]?.stringValue == "TRANSACTIONS_SYNC_LIMIT")
            #expect(try await sandbox.plaid("/transactions/sync", #""access_token": "\#(token)""#).status == 200)
            let truncated = try await sandbox.plaid("/accounts/get", #""access_token": "\#(token)""#)
            #expect(truncated.status == 200)
            #expect((try? JSONValue.parse(truncated.body)) == nil, "the body is cut off")

            let bad = try await sandbox.call("PUT", "/sandbox/faults", body: #"{"rules": [{"provider": "plaid", "kind": "rate_limit"}]}"#)
            #expect(bad.status == 400)
            #expect(bad.json["error"]?.stringValue?.contains("calls") == true)
            let unknown = try await sandbox.call("PUT", "/sandbox/faults", body: #"{"rules": [{"provider": "plaid", "kind": "explode", "calls": [1]}]}"#)
            #expect(unknown.status == 400)
        }
    }

    @Test("slow responses arrive late; GoCardless and Teller faults use their own shapes")
    func slowAndShapes() async throws {
        try await withSandbox { sandbox in
            let teller = try #require(try await sandbox.createConnection("teller")["access_token"]?.stringValue)
            _ = try await sandbox.call("PUT", "/sandbox/faults", body: #"{"rules": [{"provider": "teller", "endpoint": "/accounts", "kind": "slow", "delay_ms": 300, "calls": [1]}, {"provider": "teller", "endpoint": "/accounts/*/balances", "kind": "bad_gateway", "rate": 1}, {"provider": "gocardless", "endpoint": "/api/v2/institutions/", "kind": "unavailable", "calls": [1]}]}"#)
            let started = ContinuousClock.now
            #expect(try await sandbox.teller("/accounts", token: teller).status == 200)
            #expect(ContinuousClock.now - started >= .milliseconds(300))
            let account = try #require(try await sandbox.teller("/accounts", token: teller).json.arrayValue?.first?["id"]?.stringValue)
            let gateway = try await sandbox.teller("/accounts/\(account)/balances", token: teller)
            #expect(gateway.status == 502)
            #expect(gateway.json["error"]?["code"]?.stringValue == "bad_gateway")
            let access = try await GoCardlessSandboxTests.token(sandbox)
            let down = try await sandbox.call("GET", "/gocardless/api/v2/institutions/", headers: [("authorization", "Bearer \(access)")])
            #expect(down.status == 503)
            #expect(down.json["status_code"]?.intValue == 503)
        }
    }

    @Test("the same seed, clock and requests give byte-identical responses; another seed does not")
    func determinism() async throws {
        func run(seed: UInt64) async -> [[UInt8]] {
            let world = SandboxWorld(configuration: .init(seed: seed, historyDays: 30))
            var bodies: [[UInt8]] = []
            func call(_ provider: SandboxProvider, _ method: String, _ path: String, _ body: String = "", headers: [(String, String)] = []) async -> JSONValue {
                let (response, _) = await world.handle(provider, SandboxRequest(method: method, path: path, headers: headers, body: Array(body.utf8)))
                bodies.append(response.body)
                return (try? JSONValue.parse(response.body)) ?? .null
            }
            let auth = #""client_id": "sandbox-client-id", "secret": "sandbox-secret""#
            let created = await call(.plaid, "POST", "/sandbox/public_token/create", #"{\#(auth), "institution_id": "ins_109511", "initial_products": ["transactions"]}"#)
            let exchanged = await call(.plaid, "POST", "/item/public_token/exchange", #"{\#(auth), "public_token": "\#(created["public_token"]?.stringValue ?? "")"}"#)
            let token = exchanged["access_token"]?.stringValue ?? ""
            _ = await call(.plaid, "POST", "/accounts/get", #"{\#(auth), "access_token": "\#(token)"}"#)
            let sync = await call(.plaid, "POST", "/transactions/sync", #"{\#(auth), "access_token": "\#(token)", "count": 500}"#)
            await world.advance(seconds: 3 * 86_400)
            _ = await call(.plaid, "POST", "/transactions/sync", #"{\#(auth), "access_token": "\#(token)", "cursor": "\#(sync["next_cursor"]?.stringValue ?? "")"}"#)
            let gc = await call(.gocardless, "POST", "/api/v2/token/new/", #"{"secret_id": "sandbox-secret-id", "secret_key": "sandbox-secret-key"}"#)
            let bearer = [("authorization", "Bearer \(gc["access"]?.stringValue ?? "")")]
            let requisition = await call(.gocardless, "POST", "/api/v2/requisitions/", #"{"redirect": "https://x.example/", "institution_id": "SEB_ESSESESS"}"#, headers: bearer)
            _ = await world.completeGoCardlessConsent(requisition: requisition["id"]?.stringValue ?? "")
            let linked = await call(.gocardless, "GET", "/api/v2/requisitions/\(requisition["id"]?.stringValue ?? "")/", headers: bearer)
            let account = linked["accounts"]?.arrayValue?.first?.stringValue ?? ""
            _ = await call(.gocardless, "GET", "/api/v2/accounts/\(account)/transactions/", headers: bearer)
            return bodies
        }
        let a = await run(seed: 11)
        let b = await run(seed: 11)
        let c = await run(seed: 12)
        #expect(a.count == b.count)
        for (index, (x, y)) in zip(a, b).enumerated() { #expect(x == y, "response \(index) differs between runs of one seed") }
        #expect(a[3] != c[3], "another seed is another world")
        #expect(a[3].count > 10_000, "a real history came back")
    }
}
