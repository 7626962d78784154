import BankSyncCore
import BankSyncEngine
import BankSyncJobs
import BankSyncSandbox
import BankSyncServer
import BankSyncStore
import BankSyncTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// The API over real HTTP on loopback, with a real engine against the sandbox and a worker.
struct APIHarness {
    let client: any TestClientProtocol
    let store: Store
    let world: SandboxWorld
    let queue: JobQueue

    static func run(_ engine: TestEngine, _ body: @escaping @Sendable (APIHarness) async throws -> Void) async throws {
        let logger = testLogger()
        // The sandbox starts now: the engine and the queue run on the real clock here.
        let world = SandboxWorld(configuration: .init(seed: 5, start: Date(), historyDays: 30))
        try await withTestStore(engine) { store, _ in
            try await SandboxServer(world: world, logger: logger).withRunning(deliverWebhooks: false) { base in
                let queue = JobQueue(database: store.database, logger: logger)
                try await EngineRuntime.configureLimits(.sandbox(baseURL: base), database: store.database, logger: logger)
                let runtime = try EngineRuntime.make(configuration: .sandbox(baseURL: base), store: store, queue: queue, logger: logger)
                var registry = JobRegistry()
                runtime.register(into: &registry)
                let worker = JobWorker(
                    queue: queue, registry: registry, configuration: .init(concurrency: 4, leaseDuration: .seconds(60), pollInterval: .milliseconds(20)),
                    logger: logger)
                let app = Application(router: BankSyncApplication.makeRouter(store: store, runtime: runtime, logger: logger))
                try await withServices([worker, runtime.lifetime]) {
                    try await app.test(.live) { client in
                        try await body(APIHarness(client: client, store: store, world: world, queue: queue))
                    }
                }
            }
        }
    }

    /// A tenant and its API key.
    func tenant(_ name: String) async throws -> (Identifier<Tenant>, String) {
        let tenant = try await store.tenants.create(name: name)
        return (tenant.id, try await store.tenants.createAPIKey(tenantID: tenant.id, name: "test").secret)
    }

    /// Sends a request; returns the status and the body parsed as JSON (null when empty).
    @discardableResult
    func call(_ method: HTTPRequest.Method, _ uri: String, key: String?, json: String? = nil) async throws -> (Int, JSONValue) {
        var headers = HTTPFields()
        if let key { headers[.authorization] = "Bearer \(key)" }
        if json != nil { headers[.contentType] = "application/json" }
        return try await client.execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }) { response in
            let bytes = Array(response.body.readableBytesView)
            return (Int(response.status.code), bytes.isEmpty ? .null : ((try? JSONValue.parse(bytes)) ?? .string(String(decoding: bytes, as: UTF8.self))))
        }
    }

    func drain() async throws {
        #expect(try await queue.waitUntilIdle(timeout: .seconds(60)))
    }
}

@Suite("REST API: tenants, isolation, job status, pagination, errors")
struct APITests {
    /// A tenant with a user and a Teller connection synced through the API.
    static func seeded(_ h: APIHarness, key: String) async throws -> (user: String, connection: String, job: JSONValue) {
        let (created, user) = try await h.call(.post, "/v1/users", key: key, json: #"{"external_id": "alice", "email": "alice@example.com"}"#)
        #expect(created == 201)
        let userID = try #require(user["id"]?.stringValue)
        let enrollment = try JSONValue.parse(await h.world.control(SandboxRequest(method: "POST", path: "/connections", body: Array(#"{"provider": "teller"}"#.utf8))).body)
        let body = """
            {"provider": "teller", "access_token": "\(enrollment["access_token"]?.stringValue ?? "")", "enrollment_id": "\(enrollment["id"]?.stringValue ?? "")"}
            """
        let (status, linked) = try await h.call(.post, "/v1/users/\(userID)/connections", key: key, json: body)
        #expect(status == 201, "\(linked)")
        try await h.drain()
        return (userID, try #require(linked["connection"]?["id"]?.stringValue), try #require(linked["job"]))
    }

    @Test("a second tenant gets 404 for every resource of the first, and 401 without a key", arguments: TestEngine.available)
    func tenantIsolation(engine: TestEngine) async throws {
        try await APIHarness.run(engine) { h in
            let (_, keyA) = try await h.tenant("A")
            let (_, keyB) = try await h.tenant("B")
            let seeded = try await Self.seeded(h, key: keyA)
            let user = seeded.user
            let connection = seeded.connection
            let (_, accounts) = try await h.call(.get, "/v1/accounts?user_id=\(user)", key: keyA)
            let account = try #require(accounts["data"]?.arrayValue?.first?["id"]?.stringValue)
            let (_, page) = try await h.call(.get, "/v1/transactions?user_id=\(user)&limit=5", key: keyA)
            let transaction = try #require(page["data"]?.arrayValue?.first?["id"]?.stringValue)
            let (ruleStatus, rule) = try await h.call(
                .post, "/v1/rules", key: keyA,
                json: #"{"name": "coffee", "conditions": [{"kind": "text", "field": "merchant", "match": "contains", "value": "Starbucks"}], "category": "FOOD_AND_DRINK_COFFEE"}"#)
            #expect(ruleStatus == 201, "\(rule)")
            let ruleID = try #require(rule["id"]?.stringValue)
            let (endpointStatus, endpoint) = try await h.call(
                .post, "/v1/webhook-endpoints", key: keyA, json: #"{"url": "https://8.8.8.8/hook", "event_types": ["*"]}"#)
            #expect(endpointStatus == 201, "\(endpoint)")
            let endpointID = try #require(endpoint["endpoint"]?["id"]?.stringValue)
            #expect(endpoint["secret"]?.stringValue?.hasPrefix("whsec_") == true)

            // Everything of A, asked for by B.
            let probes: [(HTTPRequest.Method, String, String?)] = [
                (.get, "/v1/users/\(user)", nil),
                (.post, "/v1/users/\(user)/link-tokens", #"{"provider": "teller"}"#),
                (.post, "/v1/users/\(user)/connections", #"{"provider": "plaid", "public_token": "x"}"#),
                (.get, "/v1/users/\(user)/notifications", nil),
                (.post, "/v1/users/\(user)/notifications/read", "{}"),
                (.get, "/v1/users/\(user)/notification-preferences", nil),
                (.put, "/v1/users/\(user)/notification-preferences", "{}"),
                (.get, "/v1/connections?user_id=\(user)", nil),
                (.get, "/v1/connections/\(connection)", nil),
                (.post, "/v1/connections/\(connection)/sync", nil),
                (.delete, "/v1/connections/\(connection)", nil),
                (.get, "/v1/accounts?user_id=\(user)", nil),
                (.get, "/v1/accounts?connection_id=\(connection)", nil),
                (.get, "/v1/accounts/\(account)", nil),
                (.get, "/v1/accounts/\(account)/balances", nil),
                (.get, "/v1/transactions?user_id=\(user)", nil),
                // The user check runs beside the page query: still a 404 first, whatever else is wrong.
                (.get, "/v1/transactions?user_id=\(user)&cursor=bm90LWEtY3Vyc29y", nil),
                (.get, "/v1/transactions?user_id=\(user)&from=2026-13-45", nil),
                (.get, "/v1/transactions/\(transaction)", nil),
                (.patch, "/v1/transactions/\(transaction)", #"{"category": "TRAVEL"}"#),
                (.get, "/v1/rules/\(ruleID)", nil),
                (.put, "/v1/rules/\(ruleID)", #"{"name": "x", "conditions": [{"kind": "direction", "direction": "inflow"}], "category": "TRAVEL"}"#),
                (.delete, "/v1/rules/\(ruleID)", nil),
                (.get, "/v1/rules?user_id=\(user)", nil),
                (.get, "/v1/webhook-endpoints/\(endpointID)", nil),
                (.patch, "/v1/webhook-endpoints/\(endpointID)", #"{"enabled": false}"#),
                (.post, "/v1/webhook-endpoints/\(endpointID)/rotate-secret", nil),
                (.get, "/v1/webhook-endpoints/\(endpointID)/deliveries", nil),
                (.post, "/v1/webhook-endpoints/\(endpointID)/replay", #"{"from": "2020-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}"#),
                (.delete, "/v1/webhook-endpoints/\(endpointID)", nil),
            ]
            for (method, uri, body) in probes {
                let (status, problem) = try await h.call(method, uri, key: keyB, json: body)
                #expect(status == 404, "\(method) \(uri): \(status) \(problem)")
                #expect(problem["status"]?.intValue == 404 && problem["detail"]?.stringValue?.contains("does not exist") == true, "\(method) \(uri): \(problem)")
                let (anonymous, _) = try await h.call(method, uri, key: nil, json: body)
                #expect(anonymous == 401, "\(method) \(uri) without a key")
            }
            // B's lists do not show A's things.
            #expect(try await h.call(.get, "/v1/users", key: keyB).1["data"] == .array([]))
            #expect(try await h.call(.get, "/v1/rules", key: keyB).1["data"] == .array([]))
            #expect(try await h.call(.get, "/v1/webhook-endpoints", key: keyB).1["data"] == .array([]))
            // And A still has all of it (nothing was changed by B's attempts).
            #expect(try await h.call(.get, "/v1/connections/\(connection)", key: keyA).1["status"]?.stringValue == "connected")
            #expect(try await h.call(.get, "/v1/rules/\(ruleID)", key: keyA).0 == 200)
            #expect(try await h.call(.get, "/v1/webhook-endpoints/\(endpointID)", key: keyA).1["enabled"] == .bool(true))
            // A revoked key is refused.
            let keys = try await h.store.tenants.apiKeys(tenantID: try #require(try await h.store.users.get(Identifier(user))).tenantID)
            try await h.store.tenants.revokeAPIKey(try #require(keys.first).id)
            #expect(try await h.call(.get, "/v1/users/\(user)", key: keyA).0 == 401)
        }
    }

    @Test("job status: the right token shows the guide's states and the result; a wrong or missing token is refused; SSE streams to the end",
        arguments: TestEngine.available)
    func jobStatus(engine: TestEngine) async throws {
        try await APIHarness.run(engine) { h in
            let (_, key) = try await h.tenant("A")
            let seeded = try await Self.seeded(h, key: key)
            let job = try #require(seeded.job["id"]?.stringValue)
            let token = try #require(seeded.job["publicAccessToken"]?.stringValue)
            let (status, body) = try await h.call(.get, "/v1/jobs/\(job)", key: token)
            #expect(status == 200 && body["state"]?.stringValue == "COMPLETED" && body["name"]?.stringValue == "connection-setup", "\(body)")
            #expect(body["result"]?["outcome"]?.stringValue == "ok" && body["progress"]?.intValue == 100)
            #expect(try await h.call(.get, "/v1/jobs/\(job)", key: "jst_" + String(repeating: "0", count: 64)).0 == 404)
            #expect(try await h.call(.get, "/v1/jobs/\(job)", key: key).0 == 404)  // an API key is not the job's token
            #expect(try await h.call(.get, "/v1/jobs/\(job)", key: nil).0 == 401)
            // A manual sync: PENDING/RUNNING, then COMPLETED, as a stream of status events.
            let (accepted, handle) = try await h.call(.post, "/v1/connections/\(seeded.connection)/sync", key: key)
            #expect(accepted == 202)
            let syncJob = try #require(handle["id"]?.stringValue)
            let syncToken = try #require(handle["publicAccessToken"]?.stringValue)
            var headers = HTTPFields()
            headers[.authorization] = "Bearer \(syncToken)"
            let stream = try await h.client.execute(uri: "/v1/jobs/\(syncJob)/events", method: .get, headers: headers) { response in
                (response.status, response.headers[.contentType], String(buffer: response.body))
            }
            #expect(stream.0 == .ok && stream.1?.hasPrefix("text/event-stream") == true)
            let events = stream.2.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.allSatisfy { $0.hasPrefix("event: status\ndata: {") }, "\(stream.2)")
            #expect(events.last?.contains(#""state":"COMPLETED""#) == true, "\(stream.2)")
            #expect(try await h.call(.get, "/v1/jobs/\(syncJob)/events", key: "jst_wrong").0 == 404)
        }
    }

    @Test("transaction pages are stable while rows arrive: every row once, in date-then-id order", arguments: TestEngine.available)
    func paginationUnderInserts(engine: TestEngine) async throws {
        try await APIHarness.run(engine) { h in
            let (_, key) = try await h.tenant("A")
            let seeded = try await Self.seeded(h, key: key)
            let before = try await h.store.transactions.list(userID: Identifier(seeded.user), limit: 1_000_000)
            #expect(before.count > 60)
            let account = try #require(before.first).accountID
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let (status, page) = try await h.call(.get, "/v1/transactions?user_id=\(seeded.user)&limit=25" + (cursor.map { "&cursor=\($0)" } ?? ""), key: key)
                #expect(status == 200)
                seen += page["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
                cursor = page["next_cursor"]?.stringValue
                pages += 1
                // Between pages, new rows land on dates across the whole range.
                let rows = (0..<5).map { index in
                    Transaction(
                        accountID: account, userID: Identifier(seeded.user), providerTransactionID: "late-\(pages)-\(index)", status: .posted,
                        amount: Money(minorUnits: -1_000, currency: try! Currency(code: "USD")), date: before[(pages * 7 + index * 11) % before.count].date,
                        description: "LATE ARRIVAL", createdAt: Date())
                }
                _ = try await h.store.transactions.upsert(rows)
            } while cursor != nil && pages < 100
            let original = Set(before.map(\.id.rawValue))
            let originalSeen = seen.filter { original.contains($0) }
            #expect(originalSeen.count == original.count, "every original row exactly once")
            #expect(Set(originalSeen) == original)
            #expect(Set(seen).count == seen.count, "no row twice")
        }
    }

    /// `value` with object members sorted by name and numbers compared by value (`1` = `1.0`).
    static func canonical(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members): return .object(members.map { ($0.0, canonical($0.1)) }.sorted { $0.0 < $1.0 })
        case .array(let items): return .array(items.map(canonical))
        case .number(let text): return .number(Double(text).map { "\($0)" } ?? text)
        default: return value
        }
    }

    @Test("the direct transactions route writes every row exactly as the generated transaction operation does, and parses its query as the runtime does", arguments: TestEngine.available)
    func directTransactionsRoute(engine: TestEngine) async throws {
        try await APIHarness.run(engine) { h in
            let (_, key) = try await h.tenant("A")
            let seeded = try await Self.seeded(h, key: key)
            // One row with a category (a user's choice), so the nested object and a number are compared too.
            let (_, first) = try await h.call(.get, "/v1/transactions?user_id=\(seeded.user)&limit=1", key: key)
            let chosen = try #require(first["data"]?.arrayValue?.first?["id"]?.stringValue)
            #expect(try await h.call(.patch, "/v1/transactions/\(chosen)", key: key, json: #"{"category": "TRAVEL_FLIGHTS"}"#).0 == 200)
            let (status, page) = try await h.call(.get, "/v1/transactions?user_id=\(seeded.user)&limit=40", key: key)
            #expect(status == 200)
            let rows = page["data"]?.arrayValue ?? []
            #expect(rows.count == 40 && page["next_cursor"]?.stringValue != nil)
            #expect(rows.contains { $0["category"]?["confidence"] != nil } && rows.contains { $0["removed_at"] == nil })
            for row in rows {
                let id = try #require(row["id"]?.stringValue)
                // GET /v1/transactions/{id} is served by the generated code (JSONEncoder, the runtime's dates).
                let (single, generated) = try await h.call(.get, "/v1/transactions/\(id)", key: key)
                #expect(single == 200)
                #expect(Self.canonical(row) == Self.canonical(generated), "\(row) vs \(generated)")
                #expect(row["created_at"]?.stringValue?.count == 20 && row["created_at"]?.stringValue?.hasSuffix("Z") == true)
            }
            // Form-style query: '+' is a space, %XX decoded, the first of a repeated name wins, unknown names ignored.
            let rowCategories: [String] = rows.compactMap { $0["category"]?["code"]?.stringValue }
            let category = try #require(rowCategories.first)
            let encoded = category.replacingOccurrences(of: "_", with: "%5F")
            let (filteredStatus, filtered) = try await h.call(
                .get, "/v1/transactions?user_id=\(seeded.user)&category=\(encoded)&category=NOPE&unknown=1&limit=500", key: key)
            #expect(filteredStatus == 200)
            let codes = filtered["data"]?.arrayValue?.compactMap { $0["category"]?["code"]?.stringValue } ?? []
            #expect(!codes.isEmpty && codes.allSatisfy { $0 == category || $0.hasPrefix(category + "_") })
            let (pendingStatus, pending) = try await h.call(.get, "/v1/transactions?user_id=\(seeded.user)&pending=false&limit=500", key: key)
            #expect(pendingStatus == 200 && pending["data"]?.arrayValue?.allSatisfy { $0["status"]?.stringValue == "posted" } == true)
            let refused: [(String, Int)] = [
                ("/v1/transactions?user_id=\(seeded.user)&limit=ten", 400), ("/v1/transactions?user_id=\(seeded.user)&pending=yes", 400),
                ("/v1/transactions?user_id=\(seeded.user)&from=%ZZ", 400), ("/v1/transactions?limit=5", 400),
                ("/v1/transactions?user_id=someone+else", 404),
            ]
            for (uri, expected) in refused {
                let (code, problem) = try await h.call(.get, uri, key: key)
                #expect(code == expected && problem["status"]?.intValue == expected && problem["detail"]?.stringValue != nil, "\(uri): \(problem)")
            }
            #expect(try await h.call(.get, "/v1/transactions?user_id=\(seeded.user)", key: nil).0 == 401)
        }
    }

    @Test("bad input is refused as problem+json naming the field; bodies over 1 MiB are refused unread", arguments: TestEngine.available)
    func badInput(engine: TestEngine) async throws {
        try await APIHarness.run(engine) { h in
            let (_, key) = try await h.tenant("A")
            let (_, user) = try await h.call(.post, "/v1/users", key: key, json: #"{"external_id": "bob"}"#)
            let userID = try #require(user["id"]?.stringValue)
            // The same external id again is the same user.
            let (again, same) = try await h.call(.post, "/v1/users", key: key, json: #"{"external_id": "bob"}"#)
            #expect(again == 200 && same["id"]?.stringValue == userID)
            let cases: [(HTTPRequest.Method, String, String?, Int, String?)] = [
                (.post, "/v1/users", #"{"email": "x@y"}"#, 400, nil),
                (.post, "/v1/users", "not json", 400, nil),
                (.post, "/v1/users", #"{"external_id": "   "}"#, 422, "external_id"),
                (.get, "/v1/transactions?user_id=\(userID)&from=2026-13-01", nil, 422, "from"),
                (.get, "/v1/transactions?user_id=\(userID)&cursor=garbage", nil, 422, "cursor"),
                (.get, "/v1/transactions?user_id=\(userID)&limit=5000", nil, 422, "limit"),
                (.get, "/v1/transactions", nil, 400, nil),
                (.post, "/v1/webhook-endpoints", #"{"url": "ftp://example.com", "event_types": ["*"]}"#, 422, "url"),
                (.post, "/v1/webhook-endpoints", #"{"url": "https://8.8.8.8/", "event_types": ["nope"]}"#, 422, "events"),
                (.put, "/v1/notification-preferences", #"{"balance_change_percent": -3}"#, 422, "balance_change_percent"),
                (.post, "/v1/rules", #"{"name": "r", "conditions": [{"kind": "text"}], "category": "TRAVEL"}"#, 422, "conditions[0]"),
                (.post, "/v1/rules", #"{"name": "r", "conditions": [{"kind": "direction", "direction": "inflow"}], "category": "NOT_A_CODE"}"#, 422, "category"),
                (.post, "/v1/users/\(userID)/link-tokens", #"{"provider": "gocardless"}"#, 422, "institution_id"),
                (.get, "/v1/users/nope", nil, 404, nil),
            ]
            for (method, uri, body, expected, field) in cases {
                let (status, problem) = try await h.call(method, uri, key: key, json: body)
                #expect(status == expected, "\(method) \(uri) \(body ?? ""): \(status) \(problem)")
                #expect(problem["status"]?.intValue == expected && problem["title"]?.stringValue != nil && problem["detail"]?.stringValue != nil, "\(problem)")
                if let field { #expect(problem["errors"]?.arrayValue?.first?["field"]?.stringValue == field, "\(uri): \(problem)") }
            }
            let huge = "{\"external_id\": \"" + String(repeating: "x", count: 1_100_000) + "\"}"
            #expect(try await h.call(.post, "/v1/users", key: key, json: huge).0 == 413)
            // The document is served, and names every operation the router answers.
            let yaml = try await h.client.execute(uri: "/openapi.yaml", method: .get) { String(buffer: $0.body) }
            #expect(yaml.hasPrefix("openapi: 3.1.0") && yaml.contains("operationId: listTransactions"))
        }
    }
}
