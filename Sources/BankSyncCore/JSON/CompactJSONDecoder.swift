import Foundation

/// Decodes `Decodable` values from JSON text with the result Foundation's `JSONDecoder`
/// (default strategies) gives, at a fraction of its fixed cost per call.
///
/// Why: every job a worker runs decodes its payload, and for a two-field payload
/// `JSONDecoder` was 16 % of a worker's CPU in the queue benchmark — most of it the setup of
/// each call, not the parsing.
///
/// How it stays exact: a fast path parses into ``JSONValue`` and decodes from that tree, and it
/// declines (internally) everything whose meaning it does not reproduce exactly — integers
/// written with a fraction or exponent, `Float`, `Data`, `URL`, `Decimal`, objects that repeat
/// a key, non-finite results. Any decline or error on the fast path decodes the text again with
/// `JSONDecoder`, so the value, and every error a caller sees, is `JSONDecoder`'s.
public struct CompactJSONDecoder: Sendable {
    public init() {}

    /// The value of type `type` that `text` holds.
    /// - Throws: what `JSONDecoder().decode(type, from: Data(text.utf8))` throws.
    public func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        if let value = try? Self.fastDecode(type, from: text) { return value }
        return try JSONDecoder().decode(type, from: Data(text.utf8))
    }

    /// The fast path alone: throws on anything it does not decode exactly as `JSONDecoder`.
    static func fastDecode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        let value = try JSONValue.parse(Array(text.utf8))
        return try TreeDecoder(value: value, codingPath: []).decodeValue(type)
    }
}

/// The fast path's reason to hand a value to `JSONDecoder`. Never escapes
/// ``CompactJSONDecoder/decode(_:from:)``.
struct FastPathDeclined: Error {
    let reason: String
}

/// A `Decoder` over one node of a parsed ``JSONValue`` tree.
private struct TreeDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else { throw FastPathDeclined(reason: "not an object") }
        return KeyedDecodingContainer(try TreeKeyedContainer<Key>(members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let values) = value else { throw FastPathDeclined(reason: "not an array") }
        return TreeUnkeyedContainer(values: values, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    /// `type` from this node; the types `JSONDecoder` treats specially are declined.
    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if type == Data.self || type == URL.self || type == Decimal.self || type == Float.self {
            throw FastPathDeclined(reason: "\(type) is decoded by JSONDecoder's own rules")
        }
        return try T(from: self)
    }

    func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        guard case .number(let text) = value else { throw FastPathDeclined(reason: "not a number") }
        // Only plain integer text: JSONDecoder has its own rules for 1.0 and 1e2.
        guard let result = T(text, radix: 10), !text.hasPrefix("+") else { throw FastPathDeclined(reason: "not an integer token") }
        return result
    }
}

extension TreeDecoder: SingleValueDecodingContainer {
    func decodeNil() -> Bool { value.isNull }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let result) = value else { throw FastPathDeclined(reason: "not a boolean") }
        return result
    }

    func decode(_ type: String.Type) throws -> String {
        guard case .string(let result) = value else { throw FastPathDeclined(reason: "not a string") }
        return result
    }

    func decode(_ type: Double.Type) throws -> Double {
        guard case .number(let text) = value, let result = Double(text), result.isFinite else {
            throw FastPathDeclined(reason: "not a finite number")
        }
        return result
    }

    func decode(_ type: Float.Type) throws -> Float { throw FastPathDeclined(reason: "Float") }
    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeValue(type) }
}

/// The coding key of an array element or of `super`.
private struct IndexKey: CodingKey {
    let intValue: Int?
    let stringValue: String
    init(index: Int) { intValue = index; stringValue = "Index \(index)" }
    init?(intValue: Int) { self.init(index: intValue) }
    init?(stringValue: String) { return nil }
    init(superKey: ()) { intValue = nil; stringValue = "super" }
}

private struct TreeKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [(String, JSONValue)]
    let codingPath: [any CodingKey]

    init(members: [(String, JSONValue)], codingPath: [any CodingKey]) throws {
        // Which of a repeated key's values JSONDecoder keeps is its own business.
        if members.count > 1 {
            if members.count <= 8 {
                for i in 1..<members.count where members[..<i].contains(where: { $0.0 == members[i].0 }) {
                    throw FastPathDeclined(reason: "repeated key")
                }
            } else if Set(members.map(\.0)).count != members.count {
                throw FastPathDeclined(reason: "repeated key")
            }
        }
        self.members = members
        self.codingPath = codingPath
    }

    var allKeys: [Key] { members.compactMap { Key(stringValue: $0.0) } }

    func contains(_ key: Key) -> Bool { members.contains { $0.0 == key.stringValue } }

    private func child(_ key: Key) throws -> TreeDecoder {
        guard let value = members.first(where: { $0.0 == key.stringValue })?.1 else {
            throw FastPathDeclined(reason: "missing key \(key.stringValue)")
        }
        return TreeDecoder(value: value, codingPath: codingPath + [key])
    }

    func decodeNil(forKey key: Key) throws -> Bool { try child(key).decodeNil() }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try child(key).decode(type) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try child(key).decode(type) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try child(key).decode(type) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try child(key).decode(type) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try child(key).decode(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try child(key).decode(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try child(key).decode(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try child(key).decode(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try child(key).decode(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try child(key).decode(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try child(key).decode(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try child(key).decode(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try child(key).decode(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try child(key).decode(type) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).decodeValue(type) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try child(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try child(key).unkeyedContainer() }

    func superDecoder() throws -> any Decoder {
        TreeDecoder(value: members.first { $0.0 == "super" }?.1 ?? .null, codingPath: codingPath + [IndexKey(superKey: ())])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        TreeDecoder(value: members.first { $0.0 == key.stringValue }?.1 ?? .null, codingPath: codingPath + [key])
    }
}

private struct TreeUnkeyedContainer: UnkeyedDecodingContainer {
    let values: [JSONValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(values: [JSONValue], codingPath: [any CodingKey]) {
        self.values = values
        self.codingPath = codingPath
    }

    var count: Int? { values.count }
    var isAtEnd: Bool { currentIndex >= values.count }

    private mutating func next() throws -> TreeDecoder {
        guard currentIndex < values.count else { throw FastPathDeclined(reason: "past the end of an array") }
        defer { currentIndex += 1 }
        return TreeDecoder(value: values[currentIndex], codingPath: codingPath + [IndexKey(index: currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard currentIndex < values.count else { throw FastPathDeclined(reason: "past the end of an array") }
        if values[currentIndex].isNull {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next().decode(type) }
    mutating func decode(_ type: String.Type) throws -> String { try next().decode(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try next().decode(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next().decode(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next().decode(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next().decode(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next().decode(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next().decode(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next().decode(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next().decode(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next().decode(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next().decode(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next().decode(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next().decode(type) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decodeValue(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }

    mutating func superDecoder() throws -> any Decoder { try next() }
}
