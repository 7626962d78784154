import BankSyncCore

/// Rows for a set-based write, as one JSON array of arrays bound as a single text parameter:
/// `[["id-1", "acct", 1250, null, …], …]`.
///
/// A multi-row `VALUES (?, ?, …), …` statement costs its engine a parse and plan per row (on
/// SQLite, compiling a 1,000-row upsert was a fifth of the sync pipeline's CPU) and the client
/// an encoded bind per value. One JSON parameter keeps the statement text fixed and small;
/// the engine's own C JSON reader unpacks the rows (SQLite `jsonb_each`, PostgreSQL
/// `jsonb_array_elements`).
struct JSONRows: RowWriter {
    private(set) var bytes: [UInt8] = [UInt8(ascii: "[")]
    private var rowOpen = false
    private var rowCount = 0
    private var valueCount = 0

    init(reservingRows rows: Int, bytesPerRow: Int = 320) {
        bytes.reserveCapacity(rows * bytesPerRow + 2)
    }

    /// `elements` as JSON texts of at most `rowsPerText` rows each, for one statement apiece.
    /// An element whose `key` repeats an earlier one's replaces it in place (first position,
    /// last value): one statement may not touch a row twice.
    static func texts<Element, Key: Hashable>(
        _ elements: [Element], key: (Element) -> Key, rowsPerText: Int, bytesPerRow: Int = 320,
        encode: (Element, inout JSONRows) -> Void
    ) -> [String] {
        var position: [Key: Int] = [:]
        var unique: [Element] = []
        unique.reserveCapacity(elements.count)
        for element in elements {
            let key = key(element)
            if let index = position[key] {
                unique[index] = element
            } else {
                position[key] = unique.count
                unique.append(element)
            }
        }
        return stride(from: 0, to: unique.count, by: rowsPerText).map { start in
            let chunk = unique[start..<min(start + rowsPerText, unique.count)]
            var rows = JSONRows(reservingRows: chunk.count, bytesPerRow: bytesPerRow)
            for element in chunk { encode(element, &rows) }
            return rows.text()
        }
    }

    var isEmpty: Bool { rowCount == 0 }

    mutating func beginRow() {
        if rowCount > 0 { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "["))
        rowCount += 1
        valueCount = 0
    }

    mutating func endRow() { bytes.append(UInt8(ascii: "]")) }

    private mutating func separator() {
        if valueCount > 0 { bytes.append(UInt8(ascii: ",")) }
        valueCount += 1
    }

    mutating func null() {
        separator()
        bytes.append(contentsOf: [UInt8(ascii: "n"), UInt8(ascii: "u"), UInt8(ascii: "l"), UInt8(ascii: "l")])
    }

    mutating func unquoted(_ text: String) {
        separator()
        bytes.append(contentsOf: text.utf8)
    }

    /// A JSON string (`appendJSONString`: quotes, backslashes and control characters escaped).
    mutating func string(_ value: String?) {
        guard let value else { return null() }
        separator()
        bytes.appendJSONString(value)
    }

    /// The finished document.
    func text() -> String {
        var closed = bytes
        closed.append(UInt8(ascii: "]"))
        return String(decoding: closed, as: UTF8.self)
    }
}
