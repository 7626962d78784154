import BankSyncCore
import BankSyncEngine
import BankSyncJobs
import BankSyncProviders
import BankSyncSandbox
import BankSyncStore
import BankSyncTesting
import Foundation
import SQLKit
import Testing

@Suite("Notifications and outbound webhooks, over real HTTP")
struct NotificationTests {
    /// Short retry and disable periods, so a simulated day passes in a few steps.
    static func configuration(retryPeriod: TimeInterval = 86_400, disableAfter: TimeInterval = 3 * 86_400, timeout: Duration = .seconds(5)) -> SyncEngine.Configuration {
        var configuration = SyncEngine.Configuration()
        configuration.webhooks.retryPeriod = retryPeriod
        configuration.webhooks.disableAfter = disableAfter
        configuration.webhooks.attemptTimeout = timeout
        return configuration
    }

    static func event(_ user: User, _ type: String = EventType.accountsAdded, key: String = UUID().uuidString, at now: Date) -> Event {
        Event(userID: user.id, type: type, payload: .object([("version", .int(1)), ("note", .string(key))]), dedupeKey: "\(type):\(key)", createdAt: now)
    }

    /// Moves the engine's clock `seconds` forward and runs what became due.
    static func pass(_ h: EngineHarness, seconds: TimeInterval) async throws {
        h.clock.set(h.clock.now.addingTimeInterval(seconds))
        try await h.drain()
    }

    static func jobs(_ h: EngineHarness, named name: String) async throws -> [String] {
        try await h.store.database.withSession { db in
            try await db.raw("SELECT state FROM jobs WHERE name = \(bind: name)").all().map { try $0.decode(column: "state", as: String.self) }
        }
    }

    static func header(_ received: WebhookReceiver.Received, _ name: String) -> String { received.header(name) ?? "" }

    @Test("a receiver that fails three times then succeeds gets one successful delivery; the log shows four attempts, each signed as documented",
        arguments: TestEngine.available)
    func retriedUntilDelivered(engine: TestEngine) async throws {
        try await WebhookReceiver.run(reply: { _, count in
            count <= 3 ? .init(status: 500, body: Array("boom \(count)".utf8)) : .init(status: 200, body: Array("thanks".utf8))
        }) { receiver, base in
            try await EngineHarness.run(engine, configuration: Self.configuration()) { h in
                let user = try await h.user()
                let (endpoint, secret) = try await h.engine.createWebhookEndpoint(tenantID: user.tenantID, url: base + "/hook", eventTypes: ["accounts.*"])
                #expect(secret.hasPrefix("whsec_"))
                let event = Self.event(user, at: h.clock.now)
                #expect(try await h.engine.notify(event))
                try await h.drain()
                for _ in 0..<12 where receiver.received().count < 4 { try await Self.pass(h, seconds: 60) }
                // Nothing more arrives once it was delivered.
                try await Self.pass(h, seconds: 3_600)
                let received = receiver.received()
                #expect(received.count == 4)

                let deliveries = try await h.store.webhooks.deliveries(endpointID: endpoint.id)
                #expect(deliveries.count == 1)
                let delivery = try #require(deliveries.first)
                #expect(delivery.state == .delivered && delivery.attempts == 4 && delivery.lastStatus == 200)
                let attempts = try await h.store.webhooks.attempts(deliveryID: delivery.id)
                #expect(attempts.map(\.attempt) == [1, 2, 3, 4])
                #expect(attempts.map(\.statusCode) == [500, 500, 500, 200])
                #expect(attempts.map(\.outcome) == ["http_error", "http_error", "http_error", "delivered"])
                #expect(attempts.first?.responseExcerpt == "boom 1" && attempts.last?.responseExcerpt == "thanks")
                // Retries back off: 30 s, then 60 s, then 120 s (±10 %).
                let gaps = zip(attempts.dropFirst(), attempts).map { $0.startedAt.timeIntervalSince($1.startedAt) }
                #expect(gaps.count == 3 && gaps[0] >= 27 && gaps[1] >= 54 && gaps[2] >= 108, "\(gaps)")

                // Every request carries the documented headers and a signature over "<t>.<body>".
                for (index, request) in received.enumerated() {
                    #expect(Self.header(request, "BankSync-Event-Id") == event.id.rawValue)
                    #expect(Self.header(request, "BankSync-Event-Type") == "accounts.added")
                    #expect(Self.header(request, "BankSync-Delivery-Id") == delivery.id.rawValue)
                    #expect(Self.header(request, "BankSync-Attempt") == "\(index + 1)")
                    #expect(Self.header(request, "Content-Type") == "application/json")
                    try TimestampedSignature.verify(
                        header: request.header("BankSync-Signature"), name: "BankSync-Signature", body: request.body, secrets: [Array(secret.utf8)],
                        now: h.clock.now, tolerance: 7_200)
                    #expect(throws: WebhookVerificationError.self) {
                        try TimestampedSignature.verify(
                            header: request.header("BankSync-Signature"), name: "BankSync-Signature", body: request.body + [0x20],
                            secrets: [Array(secret.utf8)], now: h.clock.now, tolerance: 3_600)
                    }
                    #expect(throws: WebhookVerificationError.self) {
                        try TimestampedSignature.verify(
                            header: request.header("BankSync-Signature"), name: "BankSync-Signature", body: request.body,
                            secrets: [Array("whsec_wrong".utf8)], now: h.clock.now, tolerance: 3_600)
                    }
                }
                let body = try JSONValue.parse(try #require(received.last).body)
                #expect(body["id"]?.stringValue == event.id.rawValue && body["type"]?.stringValue == "accounts.added")
                #expect(body["user"]?["external_id"]?.stringValue == user.externalID && body["tenant_id"]?.stringValue == user.tenantID.rawValue)
                #expect(body["data"]?["version"]?.intValue == 1)
            }
        }
    }

    @Test("a disabled endpoint receives nothing, and deliveries waiting for it are skipped", arguments: TestEngine.available)
    func disabledEndpointsReceiveNothing(engine: TestEngine) async throws {
        try await WebhookReceiver.run(reply: { path, _ in path == "/fail" ? .init(status: 503) : .init() }) { receiver, base in
            try await EngineHarness.run(engine, configuration: Self.configuration()) { h in
                let user = try await h.user()
                let tenant = user.tenantID
                let open = try await h.engine.createWebhookEndpoint(tenantID: tenant, url: base + "/open", eventTypes: ["*"]).0
                let closed = try await h.engine.createWebhookEndpoint(tenantID: tenant, url: base + "/closed", eventTypes: ["*"]).0
                let failing = try await h.engine.createWebhookEndpoint(tenantID: tenant, url: base + "/fail", eventTypes: ["*"]).0
                _ = try await h.engine.setWebhookEndpointEnabled(closed.id, tenantID: tenant, enabled: false)
                let first = Self.event(user, at: h.clock.now)
                try await h.engine.notify(first)
                try await h.drain()
                #expect(receiver.received("/open").count == 1)
                #expect(receiver.received("/closed").isEmpty)
                #expect(try await h.store.webhooks.deliveries(endpointID: closed.id).isEmpty)
                // The failing endpoint's delivery waits for its retry; disabling it skips the retry.
                #expect(receiver.received("/fail").count == 1)
                _ = try await h.engine.setWebhookEndpointEnabled(failing.id, tenantID: tenant, enabled: false)
                try await Self.pass(h, seconds: 600)
                #expect(receiver.received("/fail").count == 1)
                let skipped = try #require(try await h.store.webhooks.deliveries(endpointID: failing.id).first)
                #expect(skipped.state == .skipped && skipped.lastOutcome == "endpoint_disabled")
                // Another tenant cannot touch these endpoints.
                let other = try await h.user("someone-else")
                await #expect(throws: StoreError.self) { _ = try await h.engine.setWebhookEndpointEnabled(open.id, tenantID: other.tenantID, enabled: false) }
                #expect(try await h.engine.deleteWebhookEndpoint(open.id, tenantID: other.tenantID) == false)
            }
        }
    }

    @Test("an endpoint failing for longer than the disable period is disabled, its tenant told, and nothing more is sent to it",
        arguments: TestEngine.available)
    func failingEndpointIsDisabled(engine: TestEngine) async throws {
        try await WebhookReceiver.run(reply: { path, _ in path == "/down" ? .init(status: 503, body: Array("maintenance".utf8)) : .init() }) { receiver, base in
            try await EngineHarness.run(engine, configuration: Self.configuration(retryPeriod: 600, disableAfter: 3_600)) { h in
                let user = try await h.user()
                let tenant = user.tenantID
                let down = try await h.engine.createWebhookEndpoint(tenantID: tenant, url: base + "/down", eventTypes: ["*"]).0
                let ops = try await h.engine.createWebhookEndpoint(tenantID: tenant, url: base + "/ops", eventTypes: ["webhook_endpoint.disabled"]).0
                try await h.engine.notify(Self.event(user, at: h.clock.now))
                try await h.drain()
                for _ in 0..<15 { try await Self.pass(h, seconds: 60) }
                // Retried for the retry period, then recorded as failed; the endpoint is still on.
                let failed = try #require(try await h.store.webhooks.deliveries(endpointID: down.id).first)
                #expect(failed.state == .failed && failed.attempts >= 4 && failed.lastStatus == 503, "\(failed)")
                #expect(try await h.store.webhooks.attempts(deliveryID: failed.id).count == failed.attempts)
                #expect(try await h.store.webhooks.get(down.id)?.disabledAt == nil)
                #expect(try await h.store.webhooks.get(down.id)?.failingSince != nil)
                // An hour on, the next failure ends the streak's patience.
                try await Self.pass(h, seconds: 3_600)
                try await h.engine.notify(Self.event(user, at: h.clock.now))
                try await h.drain()
                let disabled = try #require(try await h.store.webhooks.get(down.id))
                #expect(disabled.disabledAt != nil && disabled.disabledReason?.contains("failed") == true)
                let notices = try await h.store.events.list(tenantID: tenant, from: .distantPast, to: .distantFuture, noticesOnly: true)
                #expect(notices.map(\.type) == ["webhook_endpoint.disabled"])
                #expect(notices.first?.userID == nil && notices.first?.payload["endpoint_id"]?.stringValue == down.id.rawValue)
                // The tenant's other endpoint hears about it.
                let told = receiver.received("/ops")
                #expect(told.count == 1)
                #expect(try JSONValue.parse(try #require(told.first).body)["data"]?["endpoint_id"]?.stringValue == down.id.rawValue)
                #expect(try await h.store.webhooks.deliveries(endpointID: ops.id).count == 1)
                // Nothing more goes to the disabled endpoint.
                let before = receiver.received("/down").count
                try await h.engine.notify(Self.event(user, at: h.clock.now))
                try await Self.pass(h, seconds: 3_600)
                #expect(receiver.received("/down").count == before)
                // Enabled again, it receives again.
                _ = try await h.engine.setWebhookEndpointEnabled(down.id, tenantID: tenant, enabled: true)
                #expect(try await h.store.webhooks.get(down.id)?.failingSince == nil)
                try await h.engine.notify(Self.event(user, at: h.clock.now))
                try await h.drain()
                #expect(receiver.received("/down").count == before + 1)
            }
        }
    }

    @Test("bad endpoint URLs and filters are refused with the reason; timeouts, redirects and oversized answers are recorded and retried without holding the queue",
        arguments: TestEngine.available)
    func badInput(engine: TestEngine) async throws {
        let large = [UInt8](repeating: UInt8(ascii: "x"), count: 200_000)
        try await WebhookReceiver.run(reply: { path, _ in
            switch path {
            case "/slow": .init(delay: .seconds(8))
            case "/moved": .init(status: 302, headers: [("Location", "https://elsewhere.example/hook")])
            case "/large": .init(status: 200, body: large)
            case "/trickle": .init(status: 200, body: Array("slowly, slowly, slowly".utf8), trickle: .milliseconds(400))
            default: .init()
            }
        }) { receiver, base in
            // 4 s: long enough for a loaded CI machine, shorter than /slow (8 s) and /trickle (8.8 s).
            try await EngineHarness.run(engine, configuration: Self.configuration(timeout: .seconds(4))) { h in
                let user = try await h.user()
                let tenant = user.tenantID
                for (url, types, field) in [
                    ("ftp://example.com/hook", ["*"], "url"), ("not a url", ["*"], "url"), ("https://user:pw@example.com/", ["*"], "url"),
                    ("https:///nohost", ["*"], "url"), (base + "/ok", ["payments.*"], "events"), (base + "/ok", [], "events"),
                ] {
                    do {
                        _ = try await h.engine.createWebhookEndpoint(tenantID: tenant, url: url, eventTypes: types)
                        Issue.record("\(url) \(types) was accepted")
                    } catch let error as DomainError {
                        guard case .invalidField(let named, _) = error else { Issue.record("\(error)"); continue }
                        #expect(named == field, "\(url): \(error)")
                    }
                }
                #expect(try await h.store.webhooks.endpoints(tenantID: tenant).isEmpty)

                for path in ["/slow", "/moved", "/large", "/trickle"] {
                    _ = try await h.engine.createWebhookEndpoint(tenantID: tenant, url: base + path, eventTypes: ["*"])
                }
                try await h.engine.notify(Self.event(user, at: h.clock.now))
                // The queue drains while two deliveries wait for their retries.
                try await h.drain()
                var outcomes: [String: WebhookAttempt] = [:]
                for endpoint in try await h.store.webhooks.endpoints(tenantID: tenant) {
                    let delivery = try #require(try await h.store.webhooks.deliveries(endpointID: endpoint.id).first)
                    let attempt = try #require(try await h.store.webhooks.attempts(deliveryID: delivery.id).first)
                    outcomes[String(endpoint.url.dropFirst(base.count))] = attempt
                    #expect(delivery.state == (endpoint.url.hasSuffix("/large") ? .delivered : .pending), "\(endpoint.url)")
                }
                #expect(outcomes["/slow"]?.outcome == "timeout" && outcomes["/slow"]?.statusCode == nil)
                #expect(outcomes["/trickle"]?.outcome == "timeout", "\(String(describing: outcomes["/trickle"]))")
                #expect(outcomes["/moved"]?.outcome == "redirect_refused" && outcomes["/moved"]?.statusCode == 302)
                #expect(outcomes["/moved"]?.error?.contains("https://elsewhere.example/hook") == true)
                #expect(outcomes["/large"]?.outcome == "delivered" && outcomes["/large"]?.error?.contains("65536") == true)
                #expect(outcomes["/large"]?.responseExcerpt?.count == 512)
                #expect(receiver.received("/moved").count == 1)
                #expect(try await Self.jobs(h, named: "deliver-webhook").filter { $0 == "running" }.isEmpty)
            }
        }
    }

    @Test("an event commits with the data that caused it: a rolled-back transaction leaves no event, delivery or job", arguments: TestEngine.available)
    func eventsCommitWithTheirData(engine: TestEngine) async throws {
        try await WebhookReceiver.run(reply: { _, _ in .init() }) { receiver, base in
            try await EngineHarness.run(engine) { h in
                let user = try await h.user()
                let endpoint = try await h.engine.createWebhookEndpoint(tenantID: user.tenantID, url: base + "/hook", eventTypes: ["*"]).0
                struct Refused: Error {}
                let event = Self.event(user, at: h.clock.now)
                await #expect(throws: Refused.self) {
                    try await h.store.database.transaction { db in
                        #expect(try await h.engine.notify(event, on: db))
                        throw Refused()
                    }
                }
                try await h.drain()
                #expect(try await h.store.events.get(event.id) == nil)
                #expect(try await h.store.webhooks.deliveries(endpointID: endpoint.id).isEmpty)
                #expect(try await Self.jobs(h, named: "deliver-webhook").isEmpty)
                #expect(receiver.received().isEmpty)
                // Committed, the same event is recorded, delivered once, and its dedupe key holds.
                #expect(try await h.engine.notify(event))
                #expect(try await h.engine.notify(Self.event(user, key: event.payload["note"]?.stringValue ?? "", at: h.clock.now)) == false)
                try await h.drain()
                #expect(receiver.received().count == 1)
            }
        }
    }

    @Test("large transactions and significant balance changes from real syncs: none for the backfill, one per purchase and per change",
        arguments: TestEngine.available)
    func rulesFromSyncs(engine: TestEngine) async throws {
        try await EngineHarness.run(engine) { h in
            let user = try await h.user()
            // Strict enough that the backfill is full of "large" rows: none of them may be reported.
            try await h.store.webhooks.setPreferences(NotificationPreferences(largeTransactionAmount: 50), tenantID: user.tenantID, now: h.clock.now)
            let plaid = try await h.link(.plaid, user: user)
            let teller = try await h.link(.teller, user: user)
            try await h.drain()
            #expect(try await h.store.events.list(userID: user.id, type: EventType.transactionLarge).isEmpty)
            let completed = try await h.store.events.list(userID: user.id, type: EventType.syncCompleted)
            #expect(Set(completed.compactMap(\.connectionID)) == [plaid.id, teller.id])
            #expect(completed.allSatisfy { $0.payload["initial"] == .bool(true) })

            try await h.store.webhooks.setPreferences(NotificationPreferences(largeTransactionAmount: 5_000), tenantID: user.tenantID, now: h.clock.now)
            for connection in [plaid, teller] {
                let checking = try #require(try await h.store.accounts.list(connectionID: connection.id).first { $0.subtype == "checking" })
                // A 7,500 purchase (large) and a 2,500 windfall (a balance change over 1,000 units).
                #expect(await h.world.injectTransaction(accountID: checking.providerAccountID, amount: -750_000, counterparty: "Jeweller") != nil)
                #expect(await h.world.injectTransaction(accountID: checking.providerAccountID, amount: 250_000, counterparty: "Lottery") != nil)
                _ = try await h.engine.requestSync(connection.id)
                try await h.drain()
                // Syncing again changes nothing and reports nothing new.
                _ = try await h.engine.requestSync(connection.id)
                try await h.drain()
                let large = try await h.store.events.list(connectionID: connection.id).filter { $0.type == EventType.transactionLarge }
                #expect(large.count == 1, "\(connection.provider): \(large.map(\.payload))")
                #expect(large.first?.payload["amount"]?.stringValue == "-7500.00" && large.first?.payload["reason"]?.stringValue == "absolute")
                #expect(large.first?.payload["account_id"]?.stringValue == checking.id.rawValue)
                let balance = try await h.store.events.list(connectionID: connection.id).filter { $0.type == EventType.balanceChangedSignificantly }
                #expect(balance.count == 1, "\(connection.provider): \(balance.map(\.payload))")
                #expect(balance.first?.payload["change"]?.stringValue == "-5000.00" && balance.first?.payload["reason"]?.stringValue == "absolute")
                let updated = try await h.store.events.list(connectionID: connection.id).filter { $0.type == EventType.transactionsUpdated }
                #expect(updated.contains { $0.payload["added"]?.intValue == 2 }, "\(updated.map(\.payload))")
            }
        }
    }

    @Test("opted-out types are not recorded; the feed lists, counts and marks read, for its own user only", arguments: TestEngine.available)
    func preferencesAndFeed(engine: TestEngine) async throws {
        try await EngineHarness.run(engine) { h in
            let user = try await h.user()
            try await h.store.webhooks.setPreferences(
                NotificationPreferences(muted: [EventType.syncCompleted, EventType.transactionsUpdated]), userID: user.id, tenantID: user.tenantID, now: h.clock.now)
            await #expect(throws: DomainError.self) {
                try await h.store.webhooks.setPreferences(NotificationPreferences(muted: ["nonsense"]), userID: user.id, tenantID: user.tenantID, now: h.clock.now)
            }
            _ = try await h.link(.teller, user: user)
            try await h.drain()
            let feed = try await h.store.events.list(userID: user.id)
            #expect(!feed.contains { $0.type == EventType.syncCompleted || $0.type == EventType.transactionsUpdated })
            #expect(feed.contains { $0.type == EventType.accountsAdded })
            // A second user of the tenant did not opt out.
            let other = User(tenantID: user.tenantID, externalID: "user-2", createdAt: h.clock.now)
            try await h.store.users.insert(other)
            _ = try await h.link(.teller, user: other)
            try await h.drain()
            #expect(try await h.store.events.list(userID: other.id, type: EventType.syncCompleted).count == 1)
            // Later syncs report completion only when asked to.
            let otherConnection = try #require(try await h.store.connections.list(userID: other.id).first)
            _ = try await h.engine.requestSync(otherConnection.id)
            try await h.drain()
            #expect(try await h.store.events.list(userID: other.id, type: EventType.syncCompleted).count == 1)
            try await h.store.webhooks.setPreferences(NotificationPreferences(syncCompleted: .always), userID: other.id, tenantID: other.tenantID, now: h.clock.now)
            _ = try await h.engine.requestSync(otherConnection.id)
            try await h.drain()
            let completions = try await h.store.events.list(userID: other.id, type: EventType.syncCompleted)
            #expect(completions.map { $0.payload["initial"] } == [.bool(false), .bool(true)])

            let unread = try await h.store.events.unreadCount(userID: user.id)
            #expect(unread == feed.count && unread > 0)
            let first = try #require(feed.first)
            // Another user cannot mark this user's events.
            #expect(try await h.store.events.markRead(userID: other.id, ids: [first.id], at: h.clock.now) == 0)
            #expect(try await h.store.events.markRead(userID: user.id, ids: [first.id], at: h.clock.now) == 1)
            #expect(try await h.store.events.unreadCount(userID: user.id) == unread - 1)
            #expect(try await h.store.events.list(userID: user.id, unreadOnly: true).count == unread - 1)
            #expect(try await h.store.events.markRead(userID: user.id, ids: nil, at: h.clock.now) == unread - 1)
            #expect(try await h.store.events.unreadCount(userID: user.id) == 0)
            // Pages by id are stable: two pages of one cover the newest two.
            let page1 = try await h.store.events.list(userID: other.id, limit: 1)
            let page2 = try await h.store.events.list(userID: other.id, before: page1.last?.id, limit: 1)
            #expect(page1.map(\.id) + page2.map(\.id) == Array(try await h.store.events.list(userID: other.id).prefix(2)).map(\.id))
        }
    }

    @Test("a delivery is replayed by id, and a time range of events to one endpoint; a disabled endpoint cannot be replayed to",
        arguments: TestEngine.available)
    func replay(engine: TestEngine) async throws {
        try await WebhookReceiver.run(reply: { _, _ in .init() }) { receiver, base in
            try await EngineHarness.run(engine) { h in
                let user = try await h.user()
                let tenant = user.tenantID
                let endpoint = try await h.engine.createWebhookEndpoint(tenantID: tenant, url: base + "/hook", eventTypes: ["accounts.added"]).0
                let start = h.clock.now
                var events: [Event] = []
                for _ in 0..<3 {
                    let event = Self.event(user, at: h.clock.now)
                    try await h.engine.notify(event)
                    events.append(event)
                    try await Self.pass(h, seconds: 3_600)
                }
                try await h.engine.notify(Self.event(user, EventType.syncCompleted, at: h.clock.now))  // not subscribed
                try await h.drain()
                #expect(receiver.received().count == 3)
                let original = try #require(try await h.store.webhooks.deliveries(eventID: events[0].id).first)
                let again = try await h.engine.replayWebhookDelivery(original.id, tenantID: tenant)
                #expect(again.replayOf == original.id && again.id != original.id)
                try await h.drain()
                #expect(receiver.received().count == 4)
                #expect(receiver.received().last?.header("BankSync-Event-Id") == events[0].id.rawValue)
                #expect(receiver.received().last?.header("BankSync-Delivery-Id") == again.id.rawValue)
                // The second and third events, by their time range.
                let range = try await h.engine.replayWebhookEvents(
                    endpointID: endpoint.id, tenantID: tenant, from: start.addingTimeInterval(1_800), to: start.addingTimeInterval(3 * 3_600))
                #expect(range.map(\.eventID) == [events[1].id, events[2].id])
                try await h.drain()
                // (Deliveries run concurrently: arrival order is not promised.)
                #expect(Set(receiver.received().suffix(2).compactMap { $0.header("BankSync-Event-Id") }) == [events[1].id.rawValue, events[2].id.rawValue])
                // Bad requests are refused with the reason.
                await #expect(throws: DomainError.self) { _ = try await h.engine.replayWebhookEvents(endpointID: endpoint.id, tenantID: tenant, from: start, to: start) }
                let other = try await h.user("other")
                await #expect(throws: StoreError.self) { _ = try await h.engine.replayWebhookDelivery(original.id, tenantID: other.tenantID) }
                _ = try await h.engine.setWebhookEndpointEnabled(endpoint.id, tenantID: tenant, enabled: false)
                await #expect(throws: StoreError.self) { _ = try await h.engine.replayWebhookDelivery(original.id, tenantID: tenant) }
                // A rotated secret: signatures with both until the overlap ends.
                _ = try await h.engine.setWebhookEndpointEnabled(endpoint.id, tenantID: tenant, enabled: true)
                let newSecret = try await h.engine.rotateWebhookSecret(endpoint.id, tenantID: tenant)
                try await h.engine.notify(Self.event(user, at: h.clock.now))
                try await h.drain()
                let signature = try #require(receiver.received().last?.header("BankSync-Signature"))
                #expect(signature.components(separatedBy: "v1=").count == 3)
                try TimestampedSignature.verify(
                    header: signature, name: "BankSync-Signature", body: try #require(receiver.received().last).body, secrets: [Array(newSecret.utf8)],
                    now: h.clock.now, tolerance: 300)
            }
        }
    }

    @Test("old deliveries (with their attempts) and old events are pruned; recent ones and waiting deliveries stay", arguments: TestEngine.available)
    func pruning(engine: TestEngine) async throws {
        try await WebhookReceiver.run(reply: { path, _ in path == "/down" ? .init(status: 500) : .init() }) { _, base in
            try await EngineHarness.run(engine, configuration: Self.configuration(disableAfter: 10 * 365 * 86_400)) { h in
                let user = try await h.user()
                let up = try await h.engine.createWebhookEndpoint(tenantID: user.tenantID, url: base + "/up", eventTypes: ["*"]).0
                let down = try await h.engine.createWebhookEndpoint(tenantID: user.tenantID, url: base + "/down", eventTypes: ["*"]).0
                let old = Self.event(user, at: h.clock.now)
                try await h.engine.notify(old)
                try await h.drain()
                // Two days on, the failing delivery has given up; a month after that, both are old.
                try await Self.pass(h, seconds: 2 * 86_400)
                #expect(try await h.store.webhooks.deliveries(endpointID: down.id).first?.state == .failed)
                try await Self.pass(h, seconds: 31 * 86_400)
                let recent = Self.event(user, at: h.clock.now)
                try await h.engine.notify(recent)
                try await h.drain()
                let pruned = try await h.queue.enqueue(NotificationJobs.pruneNotifications, EmptyResult())
                try await h.drain()
                let status = try await h.queue.status(id: pruned.id, token: pruned.accessToken ?? "")
                #expect(status?.state == .completed, "\(String(describing: status))")
                // The old event's delivered one is gone with its attempts; its failed one too; the recent ones stay.
                #expect(try await h.store.webhooks.deliveries(eventID: old.id).isEmpty)
                #expect(try await h.store.webhooks.deliveries(eventID: recent.id).count == 2)
                #expect(try await h.store.webhooks.deliveries(endpointID: down.id, state: .pending).count == 1)
                #expect(try await h.store.events.get(old.id) != nil)
                let attempts = try await h.store.database.withSession { db in
                    try await db.raw("SELECT COUNT(*) AS n FROM webhook_attempts").first()?.decode(column: "n", as: Int.self)
                }
                #expect(attempts == 2)
                // Past the event retention the event goes too.
                try await Self.pass(h, seconds: 150 * 86_400)
                try await h.queue.enqueue(NotificationJobs.pruneNotifications, EmptyResult())
                try await h.drain()
                #expect(try await h.store.events.get(old.id) == nil)
                #expect(try await h.store.events.get(recent.id) != nil)
                #expect(try await h.store.webhooks.deliveries(endpointID: up.id).isEmpty)
                #expect(try await h.store.webhooks.deliveries(endpointID: down.id).map(\.state) == [.failed])
            }
        }
    }
}
