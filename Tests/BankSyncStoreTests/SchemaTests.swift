import BankSyncCore
@testable import BankSyncStore
import BankSyncTesting
import Foundation
import SQLKit
import Testing

@Suite("Schema and statements")
struct SchemaTests {
    func plan(_ store: Store, _ query: SQLQueryString) async throws -> String {
        try await store.database.withSession { db in
            try await db.raw("EXPLAIN QUERY PLAN " + query).all().map { try $0.decode(column: "detail", as: String.self) }
                .joined(separator: "; ")
        }
    }

    @Test("the product's hot queries use their indexes (SQLite query plans)")
    func indexes() async throws {
        try await withTestStore(.sqlite) { store, _ in
            let feed = try await plan(
                store,
                "SELECT * FROM transactions WHERE user_id = \(bind: "u") AND removed_at IS NULL ORDER BY date DESC, id LIMIT \(bind: 100)")
            #expect(feed.contains("transactions_user_date"), "\(feed)")
            #expect(!feed.contains("TEMP B-TREE"), "feed query sorts in memory: \(feed)")
            let byProviderID = try await plan(
                store, "SELECT * FROM transactions WHERE account_id = \(bind: "a") AND provider_transaction_id = \(bind: "t")")
            #expect(byProviderID.contains("sqlite_autoindex_transactions"), "\(byProviderID)")
            let due = try await plan(
                store,
                "SELECT * FROM connections WHERE next_sync_at IS NOT NULL AND next_sync_at <= \(bind: 1) ORDER BY next_sync_at LIMIT \(bind: 10)")
            #expect(due.contains("connections_due"), "\(due)")
        }
    }

    @Test("an embedded database runs in WAL mode with foreign keys enforced")
    func sqlitePragmas() async throws {
        try await withTestStore(.sqlite) { store, _ in
            let (journal, foreignKeys) = try await store.database.withSession { db in
                (
                    try await db.raw("PRAGMA journal_mode").first()?.decode(column: "journal_mode", as: String.self),
                    try await db.raw("PRAGMA foreign_keys").first()?.decode(column: "foreign_keys", as: Int.self)
                )
            }
            #expect(journal == "wal")
            #expect(foreignKeys == 1)
        }
    }

    @Test("a batch upsert is one INSERT statement for the whole batch, every value bound")
    func oneStatementPerBatch() async throws {
        try await withTestStore(.sqlite) { store, _ in
            let fixture = try await Fixture.make(in: store)
            let rows = try (0..<250).map { try TransactionRepository.encode(fixture.transaction("t\($0)")) }
            let statement = BatchUpsert(
                table: "transactions", columns: TransactionRepository.columns, rows: rows,
                conflictClause: TransactionRepository.conflict, returning: "id")
            let (sql, binds) = try await store.database.withSession { db in db.serialize(statement) }
            #expect(sql.components(separatedBy: "INSERT INTO").count == 2)
            #expect(binds.count == 250 * TransactionRepository.columns.count)
            #expect(!sql.contains("COFFEE SHOP"))
        }
    }

    @Test("batch sizes respect each engine's bound-parameter limit")
    func batchSizes() {
        let columns = TransactionRepository.columns.count
        for engine in DatabaseEngine.allCases {
            let size = BatchUpsert.batchSize(columns: columns, engine: engine)
            #expect(size * columns <= engine.maxBindParameters)
            #expect(size >= 500)
        }
    }
}
