import SQLKit

/// One multi-row `INSERT … VALUES (…), (…) ON CONFLICT … DO UPDATE … [RETURNING …]` statement.
///
/// Serialized straight into SQLKit's serializer so a 1,000-row batch costs one statement and
/// one round trip, with every value bound (never interpolated).
struct BatchUpsert: SQLExpression {
    let table: String
    let columns: [String]
    let rows: [[any Encodable & Sendable]]
    /// The `ON CONFLICT …` clause, written once per table as a constant.
    let conflictClause: String
    let returning: String?

    func serialize(to serializer: inout SQLSerializer) {
        serializer.write("INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES ")
        serializer.writeBoundRows(rows)
        serializer.write(" ")
        serializer.write(conflictClause)
        if let returning { serializer.write(" RETURNING \(returning)") }
    }

    /// How many rows fit in one statement for `engine` with `columns` binds each (at most 1,000).
    static func batchSize(columns: Int, engine: DatabaseEngine) -> Int {
        max(1, min(1_000, engine.maxBindParameters / columns))
    }
}
