import BankSyncServer
import BankSyncStore
import BankSyncTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import SQLKit
import Testing

@Suite("Health endpoints")
struct HealthTests {
    func app(_ store: Store) -> some ApplicationProtocol {
        Application(router: BankSyncApplication.makeRouter(store: store, logger: testLogger()))
    }

    @Test("liveness answers ok; readiness reports the engine and schema version", arguments: TestEngine.available)
    func ready(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            try await app(store).test(.router) { client in
                try await client.execute(uri: "/health/live", method: .get) { response in
                    #expect(response.status == .ok)
                }
                try await client.execute(uri: "/health/ready", method: .get) { response in
                    #expect(response.status == .ok)
                    let body = try JSONDecoder().decode(HealthController.Status.self, from: Data(buffer: response.body))
                    #expect(body.status == "ready")
                    #expect(body.database == engine.rawValue)
                    #expect(body.schemaVersion == Migrator.latestVersion)
                }
            }
        }
    }

    @Test("readiness fails until the database is migrated", arguments: TestEngine.available)
    func notMigrated(engine: TestEngine) async throws {
        try await withEmptyDatabase(engine) { database, _ in
            let store = Store(database: database, keyring: try Keyring(parsing: "k:\(Keyring.generateKeyBase64())", activeKeyID: nil))
            try await app(store).test(.router) { client in
                try await client.execute(uri: "/health/ready", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    let body = try JSONDecoder().decode(HealthController.Status.self, from: Data(buffer: response.body))
                    #expect(body.reason?.contains("banksync migrate") == true)
                }
            }
        }
    }

    @Test("readiness fails on a schema newer than this binary", arguments: TestEngine.available)
    func tooNew(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            try await store.database.withSession { db in
                try await db.raw("INSERT INTO schema_migrations (version, name, applied_at) VALUES (42, 'future', 0)").run()
            }
            try await app(store).test(.router) { client in
                try await client.execute(uri: "/health/ready", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    let body = try JSONDecoder().decode(HealthController.Status.self, from: Data(buffer: response.body))
                    #expect(body.schemaVersion == 42)
                    #expect(body.reason?.contains("newer") == true)
                }
            }
        }
    }
}

import NIOCore
extension Data {
    init(buffer: ByteBuffer) { self.init(buffer.readableBytesView) }
}
