/// What a row encoder writes: a row's values in column order. ``JSONRows`` (the upsert's one
/// JSON parameter) and ``CopyRows`` (PostgreSQL `COPY` text) both take them, so a table's column
/// order is written down once.
protocol RowWriter {
    mutating func beginRow()
    mutating func endRow()
    mutating func string(_ value: String?)
    mutating func null()
    /// A value that is written as its own text, unquoted (numbers).
    mutating func unquoted(_ text: String)
}

extension RowWriter {
    mutating func int(_ value: Int64?) {
        guard let value else { return null() }
        unquoted(String(value))
    }

    /// Non-finite values are written as NULL.
    mutating func double(_ value: Double?) {
        guard let value, value.isFinite else { return null() }
        unquoted("\(value)")
    }
}

/// Rows in PostgreSQL's `COPY … FROM STDIN` text format: values separated by tabs, a row per
/// line, `\N` for NULL, and backslash, tab, newline and carriage return escaped with a backslash.
struct CopyRows: RowWriter {
    private(set) var bytes: [UInt8] = []
    private var first = true

    init(reservingRows rows: Int, bytesPerRow: Int = 320) {
        bytes.reserveCapacity(rows * bytesPerRow)
    }

    mutating func beginRow() { first = true }
    mutating func endRow() { bytes.append(UInt8(ascii: "\n")) }

    private mutating func separator() {
        if !first { bytes.append(UInt8(ascii: "\t")) }
        first = false
    }

    mutating func null() {
        separator()
        bytes.append(UInt8(ascii: "\\"))
        bytes.append(UInt8(ascii: "N"))
    }

    mutating func unquoted(_ text: String) {
        separator()
        bytes.append(contentsOf: text.utf8)
    }

    mutating func string(_ value: String?) {
        guard var value else { return null() }
        separator()
        value.withUTF8 { text in
            var start = 0
            for index in text.indices {
                let escaped: UInt8
                switch text[index] {
                case UInt8(ascii: "\\"): escaped = UInt8(ascii: "\\")
                case UInt8(ascii: "\t"): escaped = UInt8(ascii: "t")
                case UInt8(ascii: "\n"): escaped = UInt8(ascii: "n")
                case UInt8(ascii: "\r"): escaped = UInt8(ascii: "r")
                default: continue
                }
                if start < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[start..<index])) }
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(escaped)
                start = index + 1
            }
            if start < text.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[start...])) }
        }
    }
}
