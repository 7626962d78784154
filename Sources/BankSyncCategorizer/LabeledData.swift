/// A labeled example for training or evaluation.
public struct LabeledRow: Sendable, Hashable {
    public var input: CategorizerInput
    public var label: String
    /// Rows of one group (one merchant's aliases) stay on one side of a train/test split.
    public var group: String?

    public init(input: CategorizerInput, label: String, group: String? = nil) {
        self.input = input
        self.label = label
        self.group = group
    }
}

/// Labeled CSV files (RFC 4180: a header row, quoted fields with `""` escapes, CRLF or LF).
public enum LabeledCSV {
    /// Which columns hold what; optional ones may be absent from the file.
    public struct Columns: Sendable, Hashable {
        public var text = "description"
        public var merchant: String? = "merchant"
        public var amount: String? = "amount"
        public var label = "category"
        public var group: String?

        public init() {}
    }

    /// The rows of `csv`.
    /// - Throws: ``CategorizerError/invalidData(_:)`` naming a missing column, or the line of an
    ///   unterminated quote, a short row, an empty label or an amount that is not a number.
    public static func read(_ csv: String, columns: Columns = Columns()) throws(CategorizerError) -> [LabeledRow] {
        let records = try parse(csv)
        guard let header = records.first else { throw .invalidData("the CSV is empty: it needs a header row") }
        func index(_ name: String?, required: Bool) throws(CategorizerError) -> Int? {
            guard let name else { return nil }
            if let found = header.firstIndex(of: name) { return found }
            if required { throw .invalidData("the CSV has no \"\(name)\" column (it has: \(header.joined(separator: ", ")))") }
            return nil
        }
        let text = try index(columns.text, required: true)!
        let label = try index(columns.label, required: true)!
        let merchant = try index(columns.merchant, required: false)
        let amount = try index(columns.amount, required: false)
        let group = try index(columns.group, required: columns.group != nil)
        var rows: [LabeledRow] = []
        for (number, record) in records.enumerated().dropFirst() {
            if record.count == 1 && record[0].isEmpty { continue }  // a blank line
            let line = number + 1
            guard record.count == header.count else {
                throw .invalidData("CSV line \(line) has \(record.count) fields, the header has \(header.count)")
            }
            let category = Self.trimmed(record[label])
            guard !category.isEmpty else { throw .invalidData("CSV line \(line) has no \(columns.label)") }
            var minor: Int64?
            if let amount, !record[amount].isEmpty {
                guard let value = Double(record[amount]), value.isFinite, abs(value) < 1e15 else {
                    throw .invalidData("CSV line \(line): \(columns.amount ?? "amount") \"\(record[amount])\" is not a number")
                }
                minor = Int64((value * 100).rounded())
            }
            rows.append(LabeledRow(
                input: CategorizerInput(description: record[text], merchant: merchant.map { record[$0] }.flatMap { $0.isEmpty ? nil : $0 }, amountMinor: minor),
                label: category, group: group.map { record[$0] }))
        }
        return rows
    }

    static func trimmed(_ text: String) -> String {
        var slice = Substring(text)
        while slice.first == " " || slice.first == "\t" { slice = slice.dropFirst() }
        while slice.last == " " || slice.last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }

    /// Records of fields.
    static func parse(_ csv: String) throws(CategorizerError) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field: [UInt8] = []
        var quoted = false
        var line = 1
        var quoteLine = 1
        var bytes = Array(csv.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }  // a byte-order mark
        var index = 0
        func endField() {
            record.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
        }
        while index < bytes.count {
            let byte = bytes[index]
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index += 1
                    } else {
                        quoted = false
                    }
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    field.append(byte)
                }
            } else {
                switch byte {
                case UInt8(ascii: "\"") where field.isEmpty:
                    quoted = true
                    quoteLine = line
                case UInt8(ascii: ","): endField()
                case UInt8(ascii: "\r"): break
                case UInt8(ascii: "\n"):
                    endField()
                    records.append(record)
                    record.removeAll()
                    line += 1
                default: field.append(byte)
                }
            }
            index += 1
        }
        if quoted { throw .invalidData("CSV line \(quoteLine): a quoted field is not closed") }
        if !field.isEmpty || !record.isEmpty {
            endField()
            records.append(record)
        }
        return records
    }

    /// Splits rows into train and test deterministically: a row (or its whole group) goes to
    /// test when the hash of its group, or of its position, with `seed` falls under `testShare`.
    public static func split(_ rows: [LabeledRow], testShare: Double, seed: UInt64) -> (train: [LabeledRow], test: [LabeledRow]) {
        var train: [LabeledRow] = []
        var test: [LabeledRow] = []
        let threshold = UInt64(Double(UInt64.max) * testShare)
        for (position, row) in rows.enumerated() {
            let key = row.group.map { FeatureHasher.hash(Array($0.utf8)[...], seed: seed) } ?? FeatureHasher.mix(seed ^ UInt64(position))
            if key < threshold { test.append(row) } else { train.append(row) }
        }
        return (train, test)
    }
}

