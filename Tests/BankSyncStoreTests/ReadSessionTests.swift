import BankSyncCore
import BankSyncStore
import BankSyncTesting
import Foundation
import SQLKit
import Synchronization
import Testing

@Suite("Read sessions")
struct ReadSessionTests {
    @Test("SQLite: a read does not wait for a write transaction in progress, sees the last commit, then sees the new one", .timeLimit(.minutes(1)))
    func readsDoNotQueueBehindTheWriter() async throws {
        try await withTestStore(.sqlite) { store, _ in
            let tenant = try await store.tenants.create(name: "before", now: Date(timeIntervalSince1970: 1_780_000_000))
            let writing = Mutex(false)
            let release = AsyncStream<Void>.makeStream()
            async let writer: Void = store.database.transaction { db in
                try await db.raw("UPDATE tenants SET name = 'after' WHERE id = \(bind: tenant.id.rawValue)").run()
                writing.withLock { $0 = true }
                for await _ in release.stream { break }  // held open until the read below is done
            }
            while !writing.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
            // The writer holds its transaction open: this read would deadlock if it queued behind it.
            #expect(try await store.tenants.get(tenant.id)?.name == "before")
            release.continuation.yield()
            release.continuation.finish()
            try await writer
            #expect(try await store.tenants.get(tenant.id)?.name == "after")
        }
    }

    @Test("SQLite: read sessions run side by side (a second read finishes while the first is still open)", .timeLimit(.minutes(1)))
    func readSessionsRunConcurrently() async throws {
        try await withTestStore(.sqlite) { store, _ in
            let secondDone = Mutex(false)
            let firstOpen = Mutex(false)
            async let first: Bool = store.database.withReadSession { db in
                _ = try await db.raw("SELECT 1 AS one").all()
                firstOpen.withLock { $0 = true }
                // With a single reading connection the second read could not start until this
                // session ends: give up after 5 s and report that it never ran.
                for _ in 0..<500 where !secondDone.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
                return secondDone.withLock { $0 }
            }
            while !firstOpen.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
            try await store.database.withReadSession { db in _ = try await db.raw("SELECT 2 AS two").all() }
            secondDone.withLock { $0 = true }
            #expect(try await first)
        }
    }

    @Test("a read session refuses to write on SQLite, and nothing is stored", arguments: TestEngine.available)
    func readSessionsDoNotWrite(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            guard engine == .sqlite else {
                // PostgreSQL read sessions are ordinary pooled sessions: nothing to refuse.
                try await store.database.withReadSession { db in _ = try await db.raw("SELECT 1 AS one").all() }
                return
            }
            await #expect(throws: (any Error).self) {
                try await store.database.withReadSession { db in
                    try await db.raw("INSERT INTO tenants (id, name, created_at) VALUES ('t', 'x', 1)").run()
                }
            }
            #expect(try await store.tenants.list().isEmpty)
        }
    }

    @Test("SQLite: sessions racing a close finish or fail as closed, and none hangs; after it, writes and reads are refused", .timeLimit(.minutes(1)))
    func sessionsAroundClose() async throws {
        try await withEmptyDatabase(.sqlite) { database, _ in
            try await database.withSession { try await $0.raw("CREATE TABLE t (n INTEGER)").run() }
            let otherErrors = try await withThrowingTaskGroup(of: String?.self) { group in
                for i in 0..<40 {
                    group.addTask {
                        do {
                            try await database.withSession { try await $0.raw("INSERT INTO t VALUES (\(bind: i))").run() }
                            return nil
                        } catch let error as StoreError where error.message.hasSuffix("is closed") {
                            return nil  // refused: the close came first
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                group.addTask {
                    await database.close()
                    return nil
                }
                var found: [String] = []
                for try await error in group { if let error { found.append(error) } }
                return found
            }
            #expect(otherErrors.isEmpty)
            let write = await Self.closedMessage { try await database.withSession { try await $0.raw("INSERT INTO t VALUES (1)").run() } }
            let read = await Self.closedMessage { _ = try await database.withReadSession { try await $0.raw("SELECT 1 AS one").all() } }
            #expect(write.hasSuffix("is closed"), "\(write)")
            #expect(read.hasSuffix("is closed"), "\(read)")
        }
    }

    /// The message `body` failed with, or a note that it did not fail.
    static func closedMessage(_ body: () async throws -> Void) async -> String {
        do {
            try await body()
            return "no error"
        } catch let error as StoreError {
            return error.message
        } catch {
            return "\(error)"
        }
    }
}
