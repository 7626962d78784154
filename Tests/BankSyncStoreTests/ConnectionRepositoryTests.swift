import BankSyncCore
import BankSyncStore
import BankSyncTesting
import Foundation
import Testing

@Suite("Connections, users, tenants, sync runs")
struct ConnectionRepositoryTests {
    let now = Date(timeIntervalSince1970: 1_780_000_000)

    @Test("a connection's state changes are stored and read back", arguments: TestEngine.available)
    func updateRoundTrip(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let fixture = try await Fixture.make(in: store)
            var connection = fixture.connection
            try connection.setStatus(.error)
            try connection.setSyncState(.inProgress)
            try connection.setSyncState(.failed)
            connection.errorCode = "INSTITUTION_DOWN"
            connection.errorCount = 3
            connection.consentExpiresAt = now.addingTimeInterval(90 * 86_400)
            connection.nextSyncAt = now.addingTimeInterval(3_600)
            connection.cursor = "cursor-abc"
            connection.updatedAt = now.addingTimeInterval(5)
            try await store.connections.update(connection)
            #expect(try await store.connections.get(connection.id) == connection)
            #expect(try await store.connections.list(userID: fixture.user.id) == [connection])
            var ghost = connection
            ghost.id = .generate()
            let error = await #expect(throws: StoreError.self) { try await store.connections.update(ghost) }
            #expect(error?.kind == .notFound)
        }
    }

    @Test("the scheduler's tick gets due connections, earliest first, up to the limit", arguments: TestEngine.available)
    func due(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let fixture = try await Fixture.make(in: store)
            var made: [Connection] = []
            for (i, offset) in [-30.0, -10, -20, 60, .nan].enumerated() {
                let c = Connection(
                    userID: fixture.user.id, provider: .gocardless, providerConnectionID: "req-\(i)",
                    nextSyncAt: offset.isNaN ? nil : now.addingTimeInterval(offset), createdAt: now)
                try await store.connections.insert(c, accessToken: nil)
                made.append(c)
            }
            let due = try await store.connections.due(at: now, limit: 2)
            #expect(due.map(\.providerConnectionID) == ["req-0", "req-2"])
            #expect(try await store.connections.due(at: now, limit: 10).count == 3)
            let error = await #expect(throws: StoreError.self) { try await store.connections.accessToken(for: made[0].id) }
            #expect(error?.kind == .notFound)
        }
    }

    @Test("users are unique per tenant by external id", arguments: TestEngine.available)
    func users(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let tenant = try await store.tenants.create(name: "Acme", now: now)
            let user = User(tenantID: tenant.id, externalID: "ext-1", email: "a@example.com", createdAt: now)
            try await store.users.insert(user)
            #expect(try await store.users.find(tenantID: tenant.id, externalID: "ext-1") == user)
            await #expect(throws: (any Error).self) {
                try await store.users.insert(User(tenantID: tenant.id, externalID: "ext-1", createdAt: now))
            }
            #expect(try await store.tenants.get(tenant.id) == tenant)
        }
    }

    @Test("API keys are stored hashed, authenticate until revoked", arguments: TestEngine.available)
    func apiKeys(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let tenant = try await store.tenants.create(name: "Acme", now: now)
            let (key, secret) = try await store.tenants.createAPIKey(tenantID: tenant.id, name: "backend", now: now)
            #expect(secret.hasPrefix("bsk_"))
            #expect(secret.count > 40)
            #expect(try await store.tenants.authenticate(secret: secret)?.id == key.id)
            #expect(try await store.tenants.authenticate(secret: secret + "x") == nil)
            let stored = try await store.database.withSession { db in
                try await db.raw("SELECT key_hash FROM api_keys").all().map { try $0.decode(column: "key_hash", as: String.self) }
            }
            #expect(stored.count == 1)
            #expect(stored[0] != secret && !stored[0].contains(secret.dropFirst(4)))
            try await store.tenants.revokeAPIKey(key.id, now: now)
            #expect(try await store.tenants.authenticate(secret: secret) == nil)
        }
    }

    @Test("sync runs are saved, finished and listed newest first", arguments: TestEngine.available)
    func syncRuns(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let fixture = try await Fixture.make(in: store)
            var first = SyncRun(connectionID: fixture.connection.id, kind: .transactions, startedAt: now)
            try await store.syncRuns.save(first)
            try first.finish(.completed, at: now.addingTimeInterval(2))
            first.added = 12
            try await store.syncRuns.save(first)
            let second = SyncRun(connectionID: fixture.connection.id, kind: .balances, startedAt: now.addingTimeInterval(60))
            try await store.syncRuns.save(second)
            let runs = try await store.syncRuns.list(connectionID: fixture.connection.id)
            #expect(runs == [second, first])
        }
    }
}

import SQLKit
