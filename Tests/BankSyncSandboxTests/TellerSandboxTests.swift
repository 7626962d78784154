import BankSyncCore
import BankSyncSandbox
import Crypto
import Foundation
import Testing

@Suite("Teller sandbox")
struct TellerSandboxTests {
    @Test("accounts, balances and newest-first transactions with count and from_id; credit cards show purchases positive")
    func accountsAndTransactions() async throws {
        try await withSandbox { sandbox in
            let connection = try await sandbox.createConnection("teller")
            let token = try #require(connection["access_token"]?.stringValue)
            #expect(token.hasPrefix("test_token_"))
            let accounts = try await sandbox.teller("/accounts", token: token)
            #expect(accounts.status == 200)
            let list = try #require(accounts.json.arrayValue)
            #expect(list.map { $0["type"]?.stringValue ?? "" } == ["depository", "depository", "credit"])
            #expect(list.allSatisfy { $0["links"]?["transactions"]?.stringValue?.hasPrefix(sandbox.base) == true })

            for account in list {
                let id = try #require(account["id"]?.stringValue)
                let truth = try await sandbox.truth(account: id)
                let credit = account["type"]?.stringValue == "credit"
                let all = try #require(try await sandbox.teller("/accounts/\(id)/transactions", token: token).json.arrayValue)
                let truthRows = truth["transactions"]?.arrayValue ?? []
                #expect(all.count == truthRows.count)
                // Newest first (pending rows lead).
                let posted = all.filter { $0["status"]?.stringValue == "posted" }.compactMap { $0["date"]?.stringValue }
                #expect(posted == posted.sorted(by: >))
                for row in all {
                    let match = try #require(truthRows.first { $0["id"]?.stringValue == row["id"]?.stringValue })
                    let minor = try #require(match["amount_minor_units"]?.intValue)
                    let amount = try #require(row["amount"]?.stringValue)
                    #expect(Decimal(string: amount)! * 100 == Decimal(credit ? -minor : minor), "Teller sign for \(credit ? "credit" : "depository")")
                }
                // Paging: count + from_id walks the same list.
                var paged: [String] = []
                var fromID: String?
                while true {
                    let query = "count=7" + (fromID.map { "&from_id=\($0)" } ?? "")
                    let page = try #require(try await sandbox.teller("/accounts/\(id)/transactions?\(query)", token: token).json.arrayValue)
                    paged += page.compactMap { $0["id"]?.stringValue }
                    guard page.count == 7 else { break }
                    fromID = page.last?["id"]?.stringValue
                }
                #expect(paged == all.compactMap { $0["id"]?.stringValue })
                // Date window.
                let windowed = try #require(try await sandbox.teller("/accounts/\(id)/transactions?start_date=2026-02-01&end_date=2026-02-10", token: token).json.arrayValue)
                #expect(windowed.allSatisfy { ($0["date"]?.stringValue ?? "") >= "2026-02-01" && ($0["date"]?.stringValue ?? "") <= "2026-02-10" })

                let balances = try await sandbox.teller("/accounts/\(id)/balances", token: token).json
                let ledger = try #require(balances["ledger"]?.stringValue)
                let current = try #require(truth["current_minor_units"]?.intValue)
                #expect(Decimal(string: ledger)! * 100 == Decimal(credit ? -current : current))
            }
        }
    }

    @Test("a pending row usually posts under the same id with a new date")
    func pendingKeepsID() async throws {
        try await withSandbox { sandbox in
            let token = try #require(try await sandbox.createConnection("teller")["access_token"]?.stringValue)
            let accounts = try #require(try await sandbox.teller("/accounts", token: token).json.arrayValue)
            var pending: [String: String] = [:]  // id → date
            for account in accounts {
                let id = account["id"]!.stringValue!
                for row in try await sandbox.teller("/accounts/\(id)/transactions", token: token).json.arrayValue ?? [] where row["status"]?.stringValue == "pending" {
                    pending[row["id"]!.stringValue!] = row["date"]!.stringValue!
                }
            }
            #expect(!pending.isEmpty)
            _ = try await sandbox.advance(days: 4)
            var flipped = 0
            for account in accounts {
                let id = account["id"]!.stringValue!
                for row in try await sandbox.teller("/accounts/\(id)/transactions", token: token).json.arrayValue ?? [] {
                    guard let was = pending[row["id"]!.stringValue!] else { continue }
                    #expect(row["status"]?.stringValue == "posted")
                    if row["date"]?.stringValue != was { flipped += 1 }
                }
            }
            #expect(flipped > 0)
        }
    }

    @Test("no token is 401, an unknown token 403, a disconnected enrollment 404 enrollment.disconnected.*, a closed account 410")
    func errors() async throws {
        try await withSandbox { sandbox in
            let connection = try await sandbox.createConnection("teller")
            let token = try #require(connection["access_token"]?.stringValue)
            let id = try #require(connection["id"]?.stringValue)
            let none = try await sandbox.call("GET", "/teller/accounts")
            #expect(none.status == 401)
            #expect(none.json["error"]?["code"]?.stringValue != nil)
            #expect(try await sandbox.teller("/accounts", token: "test_token_unknown").status == 403)
            let accountID = try #require(try await sandbox.teller("/accounts", token: token).json.arrayValue?.first?["id"]?.stringValue)
            #expect(try await sandbox.teller("/accounts/acc_nope", token: token).status == 404)
            let bad = try await sandbox.teller("/accounts/\(accountID)/transactions?start_date=yesterday", token: token)
            #expect(bad.status == 400)
            #expect(bad.json["error"]?["message"]?.stringValue?.contains("start_date") == true)

            _ = try await sandbox.call("POST", "/sandbox/connections/\(id)/state", body: #"{"state": "login_required", "reason": "user_action.mfa_required"}"#)
            let disconnected = try await sandbox.teller("/accounts", token: token)
            #expect(disconnected.status == 404)
            #expect(disconnected.json["error"]?["code"]?.stringValue == "enrollment.disconnected.user_action.mfa_required")
            _ = try await sandbox.call("POST", "/sandbox/connections/\(id)/state", body: #"{"state": "active"}"#)

            #expect(try await sandbox.teller("/accounts/\(accountID)", token: token, method: "DELETE").status == 204)
            let closed = try await sandbox.teller("/accounts/\(accountID)/transactions", token: token)
            #expect(closed.status == 410)
            #expect(closed.json["error"]?["code"]?.stringValue == "account.closed")
            #expect(try await sandbox.teller("/accounts", token: token, method: "DELETE").status == 204)
            #expect(try await sandbox.teller("/accounts", token: token).status == 403)
        }
    }

    @Test("webhooks carry Teller-Signature t=…,v1=<hex HMAC-SHA256 of t.body>")
    func webhookSignature() async throws {
        let inbox = WebhookInbox()
        try await inbox.run { hookURL in
            try await withSandbox { sandbox in
                _ = try await sandbox.call("PUT", "/sandbox/teller/webhook", body: #"{"url": "\#(hookURL)"}"#)
                let id = try #require(try await sandbox.createConnection("teller")["id"]?.stringValue)
                _ = try await sandbox.call("POST", "/sandbox/connections/\(id)/state", body: #"{"state": "login_required", "reason": "credentials_invalid"}"#)
                try await inbox.waitFor(1)
                let delivery = try #require(inbox.received.first)
                let body = try JSONValue.parse(delivery.body)
                #expect(body["type"]?.stringValue == "enrollment.disconnected")
                #expect(body["payload"]?["reason"]?.stringValue == "disconnected.credentials_invalid")
                let signature = try #require(delivery.header("Teller-Signature"))
                let parts = Dictionary(uniqueKeysWithValues: signature.split(separator: ",").map { part in
                    let kv = part.split(separator: "=", maxSplits: 1)
                    return (String(kv[0]), String(kv[1]))
                })
                let t = try #require(parts["t"])
                let mac = HMAC<SHA256>.authenticationCode(for: Array("\(t).".utf8) + delivery.body, using: SymmetricKey(data: Array("sandbox-teller-signing-secret".utf8)))
                #expect(parts["v1"] == mac.map { String(format: "%02x", $0) }.joined())

                // A new day's posted rows arrive as transactions.processed.
                let other = try #require(try await sandbox.createConnection("teller")["id"]?.stringValue)
                _ = try await sandbox.advance(days: 2)
                try await inbox.waitFor(2)
                let processed = inbox.received.dropFirst().compactMap { try? JSONValue.parse($0.body) }
                    .first { $0["type"]?.stringValue == "transactions.processed" }
                #expect(processed?["payload"]?["enrollment_id"]?.stringValue == other)
                #expect(processed?["payload"]?["transactions"]?.arrayValue?.isEmpty == false)
            }
        }
    }
}
