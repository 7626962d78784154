import BankSyncCore
import Foundation
import Testing

@Suite("Compact JSON encoder")
struct CompactJSONEncoderTests {
    struct Flat: Codable, Equatable {
        var n: Int
        var at: Double
        var name: String
        var flag: Bool
        var missing: String?
        var present: Int64?
        var small: Int8
        var unsigned: UInt64
        var ratio: Float
    }

    enum Shape: Codable, Equatable {
        case circle(radius: Double)
        case polygon(points: [[Int]], label: String?)
        case empty
    }

    struct Nested: Codable, Equatable {
        var id: UUID
        var when: Date
        var blob: Data
        var link: URL
        var amount: Decimal
        var tags: [String]
        var byName: [String: Int]
        var byNumber: [Int: String]
        var shapes: [Shape]
        var matrix: [[Double?]]
        var inner: Flat?
        var many: [String: Int]
    }

    /// A hand-written `encode(to:)` that uses every container call: nested containers filled
    /// out of order, super encoders, a key encoded twice, a single value inside an array.
    struct Handwritten: Encodable {
        enum Keys: String, CodingKey { case a, b, c, d }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            var list = container.nestedUnkeyedContainer(forKey: .a)
            try container.encode("first", forKey: .b)
            try list.encode(1)
            var object = list.nestedContainer(keyedBy: Keys.self)
            try object.encode(true, forKey: .c)
            try list.encodeNil()
            try container.encode("second", forKey: .b)  // a repeated key keeps its last value
            var single = list.superEncoder().singleValueContainer()
            try single.encode("via super")
            try "parent".encode(to: container.superEncoder())
            try 7.encode(to: container.superEncoder(forKey: .d))
        }
    }

    static let text = "quote \" backslash \\ slash / newline \n tab \t nul \u{0} bell \u{7} é 日本語 🙂 \u{2028}"

    static func sample() -> Nested {
        Nested(
            id: UUID(uuidString: "0192F0C4-3B7A-7C11-8D22-9A1B2C3D4E5F")!,
            when: Date(timeIntervalSince1970: 1_780_000_000.123),
            blob: Data([0, 1, 2, 250, 255]),
            link: URL(string: "https://example.com/a?b=c&d=é")!,
            amount: Decimal(string: "-1234.5678")!,
            tags: ["", text, "x"],
            byName: ["zero": 0, "max": Int.max, "min": Int.min],
            byNumber: [1: "one", -2: "minus two"],
            shapes: [.circle(radius: 0.1), .polygon(points: [[1, 2], [3, 4]], label: nil), .polygon(points: [], label: "p"), .empty],
            matrix: [[1.5, nil, -0.0], [], [1e300, 5e-324, 123_456_789.123_456_78]],
            inner: Flat(n: -42, at: 1_780_000_000.5, name: text, flag: false, missing: nil, present: 9, small: -128, unsigned: .max, ratio: 0.1),
            many: Dictionary(uniqueKeysWithValues: (0..<200).map { ("key\($0)", $0) }))
    }

    /// Both outputs parsed by JSONSerialization: the same JSON values (key order aside).
    static func sameJSON(_ a: [UInt8], _ b: Data) throws -> Bool {
        let left = try JSONSerialization.jsonObject(with: Data(a), options: [.fragmentsAllowed]) as! NSObject
        let right = try JSONSerialization.jsonObject(with: b, options: [.fragmentsAllowed]) as! NSObject
        return left.isEqual(right)
    }

    @Test("values decode with JSONDecoder to what was encoded, and match JSONEncoder's JSON")
    func roundTrip() throws {
        let encoder = CompactJSONEncoder()
        let value = Self.sample()
        let bytes = try encoder.encode(value)
        #expect(try JSONDecoder().decode(Nested.self, from: Data(bytes)) == value)
        #expect(try Self.sameJSON(bytes, try JSONEncoder().encode(value)))
        // The encoder is reused: a second value leaves nothing of the first behind.
        let flat = value.inner!
        let again = try encoder.encode(flat)
        #expect(try JSONDecoder().decode(Flat.self, from: Data(again)) == flat)
        #expect(try Self.sameJSON(again, try JSONEncoder().encode(flat)))
    }

    @Test("top-level scalars, optionals and arrays are written as JSONEncoder writes them")
    func fragments() throws {
        let encoder = CompactJSONEncoder()
        #expect(try encoder.encodeToString(42) == "42")
        #expect(try encoder.encodeToString(-9_223_372_036_854_775_808 as Int64) == "-9223372036854775808")
        #expect(try encoder.encodeToString(UInt64.max) == "18446744073709551615")
        #expect(try encoder.encodeToString("a\"b\\c\nd\u{1}") == #""a\"b\\c\nd\u0001""#)
        #expect(try encoder.encodeToString(true) == "true")
        #expect(try encoder.encodeToString(Int?.none) == "null")
        #expect(try encoder.encodeToString([1, 2, 3]) == "[1,2,3]")
        #expect(try encoder.encodeToString([String]()) == "[]")
        #expect(try encoder.encodeToString(0.5) == "0.5")
        #expect(try encoder.encodeToString(Data([1, 2, 3])) == #""AQID""#)
        #expect(try encoder.encodeToString(Decimal(string: "10.25")!) == "10.25")
    }

    @Test("a hand-written encode(to:) using every container call gives JSONEncoder's value")
    func everyContainerCall() throws {
        let bytes = try CompactJSONEncoder().encode(Handwritten())
        #expect(try Self.sameJSON(bytes, try JSONEncoder().encode(Handwritten())))
        let object = try JSONSerialization.jsonObject(with: Data(bytes)) as! [String: Any]
        #expect(object["b"] as? String == "second")
        #expect(object["super"] as? String == "parent")
        #expect(object["d"] as? Int == 7)
        #expect((object["a"] as? [Any])?.count == 4)
    }

    @Test("a non-finite number is refused with its coding path, as JSONEncoder refuses it", arguments: [Double.nan, .infinity, -.infinity])
    func nonFinite(value: Double) throws {
        let flat = Flat(n: 1, at: value, name: "", flag: true, missing: nil, present: nil, small: 0, unsigned: 0, ratio: 0)
        #expect(throws: EncodingError.self) { try JSONEncoder().encode(flat) }
        do {
            _ = try CompactJSONEncoder().encode(flat)
            Issue.record("encoded a non-finite number")
        } catch let EncodingError.invalidValue(_, context) {
            #expect(context.codingPath.map(\.stringValue) == ["at"])
        }
        #expect(throws: EncodingError.self) { try CompactJSONEncoder().encode([Float.nan]) }
    }
}
