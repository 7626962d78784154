import BankSyncCore
import BankSyncSandbox
import Crypto
import Foundation
import Testing

@Suite("Plaid sandbox")
struct PlaidSandboxTests {
    /// Pages through `/transactions/sync` from `cursor` until has_more is false.
    static func syncAll(_ sandbox: SandboxHarness, token: String, cursor: String = "", count: Int = 100) async throws
        -> (added: [JSONValue], modified: [JSONValue], removed: [JSONValue], cursor: String)
    {
        var (added, modified, removed) = ([JSONValue](), [JSONValue](), [JSONValue]())
        var cursor = cursor
        while true {
            let page = try await sandbox.plaid("/transactions/sync", #""access_token": "\#(token)", "cursor": "\#(cursor)", "count": \#(count)"#)
            #expect(page.status == 200, "\(page.text)")
            added += page.json["added"]?.arrayValue ?? []
            modified += page.json["modified"]?.arrayValue ?? []
            removed += page.json["removed"]?.arrayValue ?? []
            cursor = try #require(page.json["next_cursor"]?.stringValue)
            if page.json["has_more"]?.boolValue != true { return (added, modified, removed, cursor) }
        }
    }

    @Test("link, exchange, accounts and a paged sync reproduce the bank's ground truth")
    func linkAndSync() async throws {
        try await withSandbox { sandbox in
            let (token, itemID) = try await sandbox.linkPlaid()
            #expect(token.hasPrefix("access-sandbox-"))
            let accounts = try await sandbox.plaid("/accounts/get", #""access_token": "\#(token)""#)
            #expect(accounts.status == 200)
            #expect(accounts.json["item"]?["item_id"]?.stringValue == itemID)
            let list = try #require(accounts.json["accounts"]?.arrayValue)
            #expect(list.map { $0["type"]?.stringValue ?? "" } == ["depository", "depository", "credit", "loan"])

            let synced = try await Self.syncAll(sandbox, token: token, count: 37)
            #expect(synced.modified.isEmpty && synced.removed.isEmpty, "a first sync is all additions")
            for account in list {
                let id = try #require(account["account_id"]?.stringValue)
                let truth = try await sandbox.truth(account: id)
                let expected = Set(truth["transactions"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? [])
                let got = Set(synced.added.filter { $0["account_id"]?.stringValue == id }.compactMap { $0["transaction_id"]?.stringValue })
                #expect(got == expected, "account \(id)")
                // Plaid's sign: positive = money out, the flip of the truth's convention.
                for row in truth["transactions"]?.arrayValue ?? [] {
                    let plaidRow = synced.added.first { $0["transaction_id"]?.stringValue == row["id"]?.stringValue }
                    let plaidAmount = try #require(plaidRow?["amount"].flatMap { if case .number(let t) = $0 { t } else { nil } })
                    let minor = try #require(row["amount_minor_units"]?.intValue)
                    #expect(Decimal(string: plaidAmount)! * 100 == Decimal(-minor))
                }
                // Balances agree with the truth (Plaid reports what is owed on cards and loans as positive).
                let current = try #require(truth["current_minor_units"]?.intValue)
                let kind = truth["kind"]?.stringValue
                let reported = try #require(account["balances"]?["current"].flatMap { if case .number(let t) = $0 { Decimal(string: t) } else { nil } })
                #expect(reported * 100 == Decimal(kind == "credit_card" || kind == "loan" ? -current : current))
            }
        }
    }

    @Test("a pending charge posts as a new row naming the pending one, which arrives in removed")
    func pendingPosts() async throws {
        try await withSandbox { sandbox in
            let (token, _) = try await sandbox.linkPlaid()
            let first = try await Self.syncAll(sandbox, token: token)
            let pendingIDs = Set(first.added.filter { $0["pending"]?.boolValue == true }.compactMap { $0["transaction_id"]?.stringValue })
            #expect(!pendingIDs.isEmpty)
            _ = try await sandbox.advance(days: 4)
            let next = try await Self.syncAll(sandbox, token: token, cursor: first.cursor)
            let removed = Set(next.removed.compactMap { $0["transaction_id"]?.stringValue })
            #expect(pendingIDs.isSubset(of: removed), "every pending row of four days ago has settled or been reversed")
            // Successors of rows the app saw pending; rows that were pending and posted within
            // this window show only their posted row, as on Plaid.
            let successors = Set(next.added.compactMap { $0["pending_transaction_id"]?.stringValue }).intersection(pendingIDs)
            #expect(!successors.isEmpty)
            #expect(successors.isSubset(of: removed))
            for row in next.added where row["pending_transaction_id"]?.isNull == false {
                #expect(row["pending"]?.boolValue == false)
            }
            // Nothing twice: a third sync right away is empty.
            let again = try await Self.syncAll(sandbox, token: token, cursor: next.cursor)
            #expect(again.added.isEmpty && again.modified.isEmpty && again.removed.isEmpty)
        }
    }

    @Test("data that changes between pages fails the next page with MUTATION_DURING_PAGINATION; restarting works")
    func mutationDuringPagination() async throws {
        try await withSandbox { sandbox in
            let (token, _) = try await sandbox.linkPlaid()
            let page = try await sandbox.plaid("/transactions/sync", #""access_token": "\#(token)", "count": 10"#)
            #expect(page.json["has_more"]?.boolValue == true)
            let cursor = try #require(page.json["next_cursor"]?.stringValue)
            _ = try await sandbox.advance(days: 1)
            let broken = try await sandbox.plaid("/transactions/sync", #""access_token": "\#(token)", "cursor": "\#(cursor)", "count": 10"#)
            #expect(broken.status == 400)
            #expect(broken.json["error_code"]?.stringValue == "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION")
            #expect(broken.json["error_type"]?.stringValue == "TRANSACTIONS_ERROR")
            let restarted = try await Self.syncAll(sandbox, token: token)
            #expect(!restarted.added.isEmpty)
        }
    }

    @Test("bad credentials, bodies, fields and tokens get Plaid's error envelope, never a 500")
    func errors() async throws {
        try await withSandbox { sandbox in
            let wrong = try await sandbox.call("POST", "/plaid/accounts/get", body: #"{"client_id": "x", "secret": "y", "access_token": "access-sandbox-1"}"#)
            #expect(wrong.status == 400)
            #expect(wrong.json["error_code"]?.stringValue == "INVALID_API_KEYS")
            #expect(wrong.json["request_id"]?.stringValue?.isEmpty == false)
            let headers = try await sandbox.call(
                "POST", "/plaid/institutions/get_by_id", body: #"{"institution_id": "ins_109508", "country_codes": ["US"]}"#,
                headers: [("PLAID-CLIENT-ID", "sandbox-client-id"), ("PLAID-SECRET", "sandbox-secret")])
            #expect(headers.status == 200, "credentials in headers work too")
            let malformed = try await sandbox.call("POST", "/plaid/accounts/get", body: #"{"client_id": "#)
            #expect(malformed.json["error_code"]?.stringValue == "INVALID_BODY")
            let missing = try await sandbox.plaid("/accounts/get")
            #expect(missing.json["error_code"]?.stringValue == "MISSING_FIELDS")
            #expect(missing.json["error_message"]?.stringValue?.contains("access_token") == true)
            let unknown = try await sandbox.plaid("/accounts/get", #""access_token": "access-sandbox-nope""#)
            #expect(unknown.json["error_code"]?.stringValue == "INVALID_ACCESS_TOKEN")
            let badCount = try await sandbox.plaid("/transactions/sync", #""access_token": "access-sandbox-nope", "count": 0"#)
            #expect(badCount.status == 400)
            let (token, _) = try await sandbox.linkPlaid()
            let count = try await sandbox.plaid("/transactions/sync", #""access_token": "\#(token)", "count": 501"#)
            #expect(count.json["error_code"]?.stringValue == "INVALID_FIELD")
            let cursor = try await sandbox.plaid("/transactions/sync", #""access_token": "\#(token)", "cursor": "garbage!""#)
            #expect(cursor.status == 400)
            let get = try await sandbox.call("GET", "/plaid/accounts/get")
            #expect(get.status == 405)
            #expect(get.json["error_type"]?.stringValue == "INVALID_REQUEST")

            // Login required after reset_login, until the state is restored.
            #expect(try await sandbox.plaid("/sandbox/item/reset_login", #""access_token": "\#(token)""#).json["reset_login"]?.boolValue == true)
            let locked = try await sandbox.plaid("/transactions/sync", #""access_token": "\#(token)""#)
            #expect(locked.json["error_code"]?.stringValue == "ITEM_LOGIN_REQUIRED")
            let item = try await sandbox.plaid("/item/get", #""access_token": "\#(token)""#)
            #expect(item.json["item"]?["error"]?["error_code"]?.stringValue == "ITEM_LOGIN_REQUIRED")
            // Removed items answer INVALID_ACCESS_TOKEN.
            _ = try await sandbox.plaid("/item/remove", #""access_token": "\#(token)""#)
            #expect(try await sandbox.plaid("/accounts/get", #""access_token": "\#(token)""#).json["error_code"]?.stringValue == "INVALID_ACCESS_TOKEN")
        }
    }

    @Test("webhooks are signed as Plaid signs them: ES256 JWT over the SHA-256 of a 2-space-indented body")
    func webhooks() async throws {
        let inbox = WebhookInbox()
        try await inbox.run { hookURL in
            try await withSandbox { sandbox in
                let (token, itemID) = try await sandbox.linkPlaid(webhook: hookURL)
                let fired = try await sandbox.plaid("/sandbox/item/fire_webhook", #""access_token": "\#(token)", "webhook_code": "SYNC_UPDATES_AVAILABLE""#)
                #expect(fired.json["webhook_fired"]?.boolValue == true)
                try await inbox.waitFor(1)
                let delivery = try #require(inbox.received.first)
                let body = try JSONValue.parse(delivery.body)
                #expect(body["webhook_code"]?.stringValue == "SYNC_UPDATES_AVAILABLE")
                #expect(body["item_id"]?.stringValue == itemID)
                #expect(String(decoding: delivery.body, as: UTF8.self).contains("\n  \"environment\": \"sandbox\""))

                let jwt = try #require(delivery.header("Plaid-Verification"))
                let parts = jwt.split(separator: ".").map(String.init)
                #expect(parts.count == 3)
                let header = try JSONValue.parse(try #require(base64URL(parts[0])))
                #expect(header["alg"]?.stringValue == "ES256")
                let kid = try #require(header["kid"]?.stringValue)
                let key = try await sandbox.plaid("/webhook_verification_key/get", #""key_id": "\#(kid)""#).json["key"]
                let xText = try #require(key?["x"]?.stringValue)
                let yText = try #require(key?["y"]?.stringValue)
                let x = try #require(base64URL(xText))
                let y = try #require(base64URL(yText))
                let publicKey = try P256.Signing.PublicKey(rawRepresentation: x + y)
                let signature = try P256.Signing.ECDSASignature(rawRepresentation: try #require(base64URL(parts[2])))
                #expect(publicKey.isValidSignature(signature, for: Array("\(parts[0]).\(parts[1])".utf8)))
                let claims = try JSONValue.parse(try #require(base64URL(parts[1])))
                let digest = SHA256.hash(data: delivery.body).map { String(format: "%02x", $0) }.joined()
                #expect(claims["request_body_sha256"]?.stringValue == digest)
                #expect(claims["iat"]?.intValue != nil)

                // reset_login fires ITEM / ERROR.
                _ = try await sandbox.plaid("/sandbox/item/reset_login", #""access_token": "\#(token)""#)
                try await inbox.waitFor(2)
                let last = try #require(inbox.received.last)
                let error = try JSONValue.parse(last.body)
                #expect(error["webhook_type"]?.stringValue == "ITEM")
                #expect(error["error"]?["error_code"]?.stringValue == "ITEM_LOGIN_REQUIRED")
            }
        }
    }
}

func base64URL(_ text: String) -> [UInt8]? { Base64URL.decode(text) }
