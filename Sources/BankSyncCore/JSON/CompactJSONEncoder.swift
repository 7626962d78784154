public import Foundation

/// Encodes `Encodable` values to compact JSON that Foundation's `JSONDecoder` (default
/// strategies) reads back exactly as `JSONEncoder` (default strategies) would have written it:
/// `Date` through its own `Encodable` form (seconds since 2001, `.deferredToDate`), `Data` as
/// base64, `URL` as its absolute string, `Decimal` as a number, nil optionals left out, a
/// repeated key keeps its first position and its last value. Non-finite floats are refused with
/// `EncodingError.invalidValue`, as `JSONEncoder` does.
///
/// Why not `JSONEncoder`: job payloads are encoded once per enqueued job, and Foundation's
/// encoder took about 7 µs for a two-field payload (28 % of a batched enqueue's profile). This
/// one builds the value tree in a flat array it reuses between calls and writes bytes without
/// intermediate strings. Not thread-safe: make one per task (it is cheap) and reuse it there.
public final class CompactJSONEncoder {
    /// One value of the tree. Children form a singly linked list by index (`first` … `next`),
    /// so appending to any open container is O(1) and allocates nothing.
    struct Node {
        enum Kind: UInt8 { case unset, null, bool, int, uint, double, float, string, number, object, array }
        var kind: Kind = .unset
        var key: String = ""
        var bits: UInt64 = 0
        var text: String = ""
        var first: Int32 = -1
        var last: Int32 = -1
        var next: Int32 = -1
        var count: Int32 = 0
    }

    // No dynamic exclusivity checks on the working state (they were 15 % of encoding): one
    // encoder is used by one task at a time, and no access to these overlaps another.
    @exclusivity(unchecked) var nodes: [Node] = []
    /// Key → child for objects past 32 keys (dictionaries), so a repeated-key check stays O(1).
    @exclusivity(unchecked) var keyIndexes: [Int32: [String: Int32]] = [:]
    @exclusivity(unchecked) var output: [UInt8] = []

    public init() {}

    /// The JSON text of `value`.
    /// - Throws: `EncodingError.invalidValue` for a NaN or infinite float, or what `value`'s
    ///   own `encode(to:)` throws.
    public func encodeToString<T: Encodable>(_ value: T) throws -> String {
        try encodeTree(value)
        return String(decoding: output, as: UTF8.self)
    }

    /// The JSON of `value` as UTF-8 bytes.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        try encodeTree(value)
        return output
    }

    private func encodeTree<T: Encodable>(_ value: T) throws {
        nodes.removeAll(keepingCapacity: true)
        output.removeAll(keepingCapacity: true)
        keyIndexes.removeAll()
        nodes.append(Node())
        try Self.encodeValue(value, into: 0, encoder: self, codingPath: [])
        write(0)
    }

    // MARK: Tree building

    func appendChild(of parent: Int32, key: String) -> Int32 {
        let index = Int32(nodes.count)
        nodes.append(Node(key: key))
        if nodes[Int(parent)].last >= 0 {
            nodes[Int(nodes[Int(parent)].last)].next = index
        } else {
            nodes[Int(parent)].first = index
        }
        nodes[Int(parent)].last = index
        nodes[Int(parent)].count += 1
        return index
    }

    /// The child of object `parent` under `key`: a new one, or the existing one emptied (a key
    /// encoded twice keeps its last value, as in `JSONEncoder`).
    func child(of parent: Int32, key: String) -> Int32 {
        if nodes[Int(parent)].count >= 32 {
            if keyIndexes[parent] == nil {
                var index: [String: Int32] = [:]
                var cursor = nodes[Int(parent)].first
                while cursor >= 0 {
                    index[nodes[Int(cursor)].key] = cursor
                    cursor = nodes[Int(cursor)].next
                }
                keyIndexes[parent] = index
            }
            if let existing = keyIndexes[parent]![key] { return reset(existing) }
            let added = appendChild(of: parent, key: key)
            keyIndexes[parent]![key] = added
            return added
        }
        var cursor = nodes[Int(parent)].first
        while cursor >= 0 {
            if nodes[Int(cursor)].key == key { return reset(cursor) }
            cursor = nodes[Int(cursor)].next
        }
        return appendChild(of: parent, key: key)
    }

    /// Empties node `index` in place (its position among its siblings stays).
    private func reset(_ index: Int32) -> Int32 {
        nodes[Int(index)] = Node(key: nodes[Int(index)].key, next: nodes[Int(index)].next)
        return index
    }

    @inline(__always) func set(_ index: Int32, _ kind: Node.Kind, bits: UInt64 = 0, text: String = "") {
        nodes[Int(index)].kind = kind
        nodes[Int(index)].bits = bits
        nodes[Int(index)].text = text
    }

    /// Makes `index` a container of `kind` unless it already is one (a second `container(…)`
    /// call on one encoder adds to the first, as in `JSONEncoder`).
    func open(_ index: Int32, as kind: Node.Kind) {
        let current = nodes[Int(index)].kind
        if current == kind { return }
        precondition(current == .unset || current == .null, "CompactJSONEncoder: a value was already encoded here; cannot open a container")
        nodes[Int(index)].kind = kind
    }

    static func encodeDouble(_ value: Double, into index: Int32, encoder: CompactJSONEncoder, codingPath: [any CodingKey]) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value, .init(codingPath: codingPath, debugDescription: "Unable to encode Double.\(value) directly in JSON."))
        }
        encoder.set(index, .double, bits: value.bitPattern)
    }

    static func encodeFloat(_ value: Float, into index: Int32, encoder: CompactJSONEncoder, codingPath: [any CodingKey]) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value, .init(codingPath: codingPath, debugDescription: "Unable to encode Float.\(value) directly in JSON."))
        }
        encoder.set(index, .float, bits: UInt64(value.bitPattern))
    }

    /// Encodes any value into node `index`, with the types `JSONEncoder` treats specially.
    static func encodeValue<T: Encodable>(_ value: T, into index: Int32, encoder: CompactJSONEncoder, codingPath: [any CodingKey]) throws {
        // Metatype comparisons, not `as?` casts: this runs for every nested value.
        if T.self == String.self {
            encoder.set(index, .string, text: value as! String)
        } else if T.self == Int.self {
            encoder.set(index, .int, bits: UInt64(bitPattern: Int64(value as! Int)))
        } else if T.self == Double.self {
            try encodeDouble(value as! Double, into: index, encoder: encoder, codingPath: codingPath)
        } else if T.self == Bool.self {
            encoder.set(index, .bool, bits: (value as! Bool) ? 1 : 0)
        } else if T.self == Data.self {
            encoder.set(index, .string, text: (value as! Data).base64EncodedString())
        } else if T.self == URL.self {
            encoder.set(index, .string, text: (value as! URL).absoluteString)
        } else if T.self == Decimal.self {
            encoder.set(index, .number, text: (value as! Decimal).description)
        } else {
            try value.encode(to: ValueEncoder(encoder: encoder, index: index, codingPath: codingPath))
        }
    }

    // MARK: Writing

    private func write(_ index: Int32) {
        let node = nodes[Int(index)]
        switch node.kind {
        case .unset: output.append(contentsOf: [UInt8(ascii: "{"), UInt8(ascii: "}")])  // encoded nothing: an empty object
        case .null: output.append(contentsOf: "null".utf8)
        case .bool: output.append(contentsOf: node.bits == 1 ? "true".utf8 : "false".utf8)
        case .int: output.appendJSONInteger(Int64(bitPattern: node.bits))
        case .uint: output.appendJSONUnsigned(node.bits)
        case .double: output.append(contentsOf: Double(bitPattern: node.bits).description.utf8)
        case .float: output.append(contentsOf: Float(bitPattern: UInt32(truncatingIfNeeded: node.bits)).description.utf8)
        case .string: output.appendJSONString(node.text)
        case .number: output.append(contentsOf: node.text.utf8)
        case .object:
            output.append(UInt8(ascii: "{"))
            var cursor = node.first
            var first = true
            while cursor >= 0 {
                if !first { output.append(UInt8(ascii: ",")) }
                first = false
                output.appendJSONString(nodes[Int(cursor)].key)
                output.append(UInt8(ascii: ":"))
                write(cursor)
                cursor = nodes[Int(cursor)].next
            }
            output.append(UInt8(ascii: "}"))
        case .array:
            output.append(UInt8(ascii: "["))
            var cursor = node.first
            var first = true
            while cursor >= 0 {
                if !first { output.append(UInt8(ascii: ",")) }
                first = false
                write(cursor)
                cursor = nodes[Int(cursor)].next
            }
            output.append(UInt8(ascii: "]"))
        }
    }

}

/// The `Encoder` handed to a value's `encode(to:)`: it writes into one node of the tree.
struct ValueEncoder: Encoder {
    let encoder: CompactJSONEncoder
    let index: Int32
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        encoder.open(index, as: .object)
        return KeyedEncodingContainer(KeyedContainer<Key>(encoder: encoder, index: index, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        encoder.open(index, as: .array)
        return UnkeyedContainer(encoder: encoder, index: index, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleValueContainer(encoder: encoder, index: index, codingPath: codingPath) }
}

struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: CompactJSONEncoder
    let index: Int32
    let codingPath: [any CodingKey]

    @inline(__always) private func slot(_ key: Key) -> Int32 { encoder.child(of: index, key: key.stringValue) }

    mutating func encodeNil(forKey key: Key) throws { encoder.set(slot(key), .null) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { encoder.set(slot(key), .bool, bits: value ? 1 : 0) }
    mutating func encode(_ value: String, forKey key: Key) throws { encoder.set(slot(key), .string, text: value) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        try CompactJSONEncoder.encodeDouble(value, into: slot(key), encoder: encoder, codingPath: codingPath + [key])
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        try CompactJSONEncoder.encodeFloat(value, into: slot(key), encoder: encoder, codingPath: codingPath + [key])
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { encoder.set(slot(key), .int, bits: UInt64(bitPattern: Int64(value))) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { encoder.set(slot(key), .int, bits: UInt64(bitPattern: Int64(value))) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { encoder.set(slot(key), .int, bits: UInt64(bitPattern: Int64(value))) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { encoder.set(slot(key), .int, bits: UInt64(bitPattern: Int64(value))) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { encoder.set(slot(key), .int, bits: UInt64(bitPattern: value)) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { encoder.set(slot(key), .uint, bits: UInt64(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { encoder.set(slot(key), .uint, bits: UInt64(value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { encoder.set(slot(key), .uint, bits: UInt64(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { encoder.set(slot(key), .uint, bits: UInt64(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { encoder.set(slot(key), .uint, bits: value) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try CompactJSONEncoder.encodeValue(value, into: slot(key), encoder: encoder, codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = slot(key)
        encoder.open(child, as: .object)
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(encoder: encoder, index: child, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = slot(key)
        encoder.open(child, as: .array)
        return UnkeyedContainer(encoder: encoder, index: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        ValueEncoder(encoder: encoder, index: encoder.child(of: index, key: "super"), codingPath: codingPath + [JSONKey("super")])
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder { ValueEncoder(encoder: encoder, index: slot(key), codingPath: codingPath + [key]) }
}

struct UnkeyedContainer: UnkeyedEncodingContainer {
    let encoder: CompactJSONEncoder
    let index: Int32
    let codingPath: [any CodingKey]
    private(set) var count = 0

    init(encoder: CompactJSONEncoder, index: Int32, codingPath: [any CodingKey]) {
        self.encoder = encoder
        self.index = index
        self.codingPath = codingPath
    }

    private mutating func slot() -> Int32 {
        count += 1
        return encoder.appendChild(of: index, key: "")
    }

    private var elementPath: [any CodingKey] { codingPath + [JSONKey(index: count)] }

    mutating func encodeNil() throws { encoder.set(slot(), .null) }
    mutating func encode(_ value: Bool) throws { encoder.set(slot(), .bool, bits: value ? 1 : 0) }
    mutating func encode(_ value: String) throws { encoder.set(slot(), .string, text: value) }
    mutating func encode(_ value: Double) throws {
        let path = elementPath
        try CompactJSONEncoder.encodeDouble(value, into: slot(), encoder: encoder, codingPath: path)
    }
    mutating func encode(_ value: Float) throws {
        let path = elementPath
        try CompactJSONEncoder.encodeFloat(value, into: slot(), encoder: encoder, codingPath: path)
    }
    mutating func encode(_ value: Int) throws { encoder.set(slot(), .int, bits: UInt64(bitPattern: Int64(value))) }
    mutating func encode(_ value: Int8) throws { encoder.set(slot(), .int, bits: UInt64(bitPattern: Int64(value))) }
    mutating func encode(_ value: Int16) throws { encoder.set(slot(), .int, bits: UInt64(bitPattern: Int64(value))) }
    mutating func encode(_ value: Int32) throws { encoder.set(slot(), .int, bits: UInt64(bitPattern: Int64(value))) }
    mutating func encode(_ value: Int64) throws { encoder.set(slot(), .int, bits: UInt64(bitPattern: value)) }
    mutating func encode(_ value: UInt) throws { encoder.set(slot(), .uint, bits: UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { encoder.set(slot(), .uint, bits: UInt64(value)) }
    mutating func encode(_ value: UInt16) throws { encoder.set(slot(), .uint, bits: UInt64(value)) }
    mutating func encode(_ value: UInt32) throws { encoder.set(slot(), .uint, bits: UInt64(value)) }
    mutating func encode(_ value: UInt64) throws { encoder.set(slot(), .uint, bits: value) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        let path = elementPath
        try CompactJSONEncoder.encodeValue(value, into: slot(), encoder: encoder, codingPath: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = elementPath
        let child = slot()
        encoder.open(child, as: .object)
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(encoder: encoder, index: child, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = elementPath
        let child = slot()
        encoder.open(child, as: .array)
        return UnkeyedContainer(encoder: encoder, index: child, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let path = elementPath
        return ValueEncoder(encoder: encoder, index: slot(), codingPath: path)
    }
}

struct SingleValueContainer: SingleValueEncodingContainer {
    let encoder: CompactJSONEncoder
    let index: Int32
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { encoder.set(index, .null) }
    mutating func encode(_ value: Bool) throws { encoder.set(index, .bool, bits: value ? 1 : 0) }
    mutating func encode(_ value: String) throws { encoder.set(index, .string, text: value) }
    mutating func encode(_ value: Double) throws { try CompactJSONEncoder.encodeDouble(value, into: index, encoder: encoder, codingPath: codingPath) }
    mutating func encode(_ value: Float) throws { try CompactJSONEncoder.encodeFloat(value, into: index, encoder: encoder, codingPath: codingPath) }
    mutating func encode(_ value: Int) throws { encoder.set(index, .int, bits: UInt64(bitPattern: Int64(value))) }
    mutating func encode(_ value: Int8) throws { encoder.set(index, .int, bits: UInt64(bitPattern: Int64(value))) }
    mutating func encode(_ value: Int16) throws { encoder.set(index, .int, bits: UInt64(bitPattern: Int64(value))) }
    mutating func encode(_ value: Int32) throws { encoder.set(index, .int, bits: UInt64(bitPattern: Int64(value))) }
    mutating func encode(_ value: Int64) throws { encoder.set(index, .int, bits: UInt64(bitPattern: value)) }
    mutating func encode(_ value: UInt) throws { encoder.set(index, .uint, bits: UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { encoder.set(index, .uint, bits: UInt64(value)) }
    mutating func encode(_ value: UInt16) throws { encoder.set(index, .uint, bits: UInt64(value)) }
    mutating func encode(_ value: UInt32) throws { encoder.set(index, .uint, bits: UInt64(value)) }
    mutating func encode(_ value: UInt64) throws { encoder.set(index, .uint, bits: value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try CompactJSONEncoder.encodeValue(value, into: index, encoder: encoder, codingPath: codingPath) }
}

/// A coding key for paths in errors and the `super` key.
struct JSONKey: CodingKey {
    let stringValue: String
    let intValue: Int?
    init(_ string: String) {
        stringValue = string
        intValue = nil
    }
    init(index: Int) {
        stringValue = "Index \(index)"
        intValue = index
    }
    init?(stringValue: String) { self.init(stringValue) }
    init?(intValue: Int) { self.init(index: intValue) }
}

/// JSON's scalar forms appended to a byte buffer: ``CompactJSONEncoder``'s writers, public for
/// callers that write a known shape directly (the API's transactions page).
extension [UInt8] {
    /// `value` in decimal.
    public mutating func appendJSONUnsigned(_ value: UInt64) {
        if value < 10 {
            append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        var count = 0
        var rest = value
        Swift.withUnsafeMutableBytes(of: &digits) { buffer in
            while rest > 0 {
                buffer[count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            }
            for position in stride(from: count - 1, through: 0, by: -1) { append(buffer[position]) }
        }
    }

    /// `value` in decimal, with a minus sign when negative.
    public mutating func appendJSONInteger(_ value: Int64) {
        if value < 0 {
            append(UInt8(ascii: "-"))
            appendJSONUnsigned(value.magnitude)
        } else {
            appendJSONUnsigned(UInt64(value))
        }
    }

    /// `string` quoted, with quotation marks, backslashes and control characters escaped (as `JSONEncoder` does;
    /// other characters as UTF-8).
    public mutating func appendJSONString(_ string: String) {
        append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { bytes in
            var start = 0
            for (position, byte) in bytes.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<position]))
                start = position + 1
                append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): append(byte)
                case 0x0a: append(UInt8(ascii: "n"))
                case 0x0d: append(UInt8(ascii: "r"))
                case 0x09: append(UInt8(ascii: "t"))
                case 0x08: append(UInt8(ascii: "b"))
                case 0x0c: append(UInt8(ascii: "f"))
                default:
                    append(contentsOf: "u00".utf8)
                    append(ASCIIHex.digit(byte >> 4))
                    append(ASCIIHex.digit(byte & 0x0f))
                }
            }
            append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
        }
        append(UInt8(ascii: "\""))
    }
}
