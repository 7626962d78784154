public import SQLKit
import Synchronization

extension SQLDatabase {
    /// Runs a statement and collects its rows.
    public func rows(_ statement: any SQLExpression) async throws -> [any SQLRow] {
        try await execute(sql: statement)
    }

    /// Runs a statement and collects its rows.
    func execute(sql statement: any SQLExpression) async throws -> [any SQLRow] {
        let rows = RowCollector()
        try await execute(sql: statement) { rows.append($0) }
        return rows.rows
    }
}

/// Collects rows delivered to SQLKit's `@Sendable` row callback.
final class RowCollector: Sendable {
    private let storage = Mutex<[any SQLRow]>([])
    func append(_ row: any SQLRow) { storage.withLock { $0.append(row) } }
    var rows: [any SQLRow] { storage.withLock { $0 } }
}
