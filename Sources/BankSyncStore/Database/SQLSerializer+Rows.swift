public import SQLKit

extension SQLSerializer {
    /// Writes `(?, ?), (?, ?)…` with every value bound: the VALUES list of a multi-row statement.
    public mutating func writeBoundRows(_ rows: [[any Encodable & Sendable]]) {
        for (index, row) in rows.enumerated() {
            write(index == 0 ? "(" : ", (")
            for (column, value) in row.enumerated() {
                if column > 0 { write(", ") }
                write(bind: value)
            }
            write(")")
        }
    }
}
