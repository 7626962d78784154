@testable import BankSyncCore
import Foundation
import Testing

@Suite("Compact JSON decoder")
struct CompactJSONDecoderTests {
    typealias Shape = CompactJSONEncoderTests.Shape

    /// Everything the fast path decodes itself (no Float, Data, URL or Decimal).
    struct Plain: Codable, Equatable {
        var n: Int
        var at: Double
        var name: String
        var flag: Bool
        var missing: String?
        var null: Int?
        var present: Int64?
        var small: Int8
        var unsigned: UInt64
        var id: UUID
        var when: Date
        var tags: [String]
        var byName: [String: Int]
        var byNumber: [Int: String]
        var shapes: [Shape]
        var matrix: [[Double?]]
        var state: State
        var inner: [Plain]?
    }

    enum State: String, Codable { case available, running }

    static func plain() -> Plain {
        Plain(
            n: -42, at: 1_780_000_000.123, name: CompactJSONEncoderTests.text, flag: true, missing: nil, null: nil, present: .min,
            small: -128, unsigned: .max, id: UUID(uuidString: "0192F0C4-3B7A-7C11-8D22-9A1B2C3D4E5F")!,
            when: Date(timeIntervalSince1970: 1_780_000_000.5), tags: ["", "x"], byName: ["zero": 0, "max": Int.max],
            byNumber: [1: "one", -2: "minus two"],
            shapes: [.circle(radius: 0.1), .polygon(points: [[1, 2]], label: nil), .polygon(points: [], label: "p"), .empty],
            matrix: [[1.5, nil, -0.0], [], [1e300, .leastNonzeroMagnitude]], state: .running,
            inner: [Plain(
                n: 0, at: 0, name: "", flag: false, missing: "m", null: 3, present: nil, small: 0, unsigned: 0,
                id: UUID(uuidString: "00000000-0000-0000-0000-000000000000")!, when: Date(timeIntervalSinceReferenceDate: 0), tags: [],
                byName: [:], byNumber: [:], shapes: [], matrix: [], state: .available, inner: nil)])
    }

    /// What `JSONDecoder` makes of `text`: the value, or its error's description.
    static func foundation<T: Decodable>(_ type: T.Type, _ text: String) -> Result<T, DescribedError> {
        do { return .success(try JSONDecoder().decode(type, from: Data(text.utf8))) } catch { return .failure(DescribedError(text: "\(error)")) }
    }

    static func compact<T: Decodable>(_ type: T.Type, _ text: String) -> Result<T, DescribedError> {
        do { return .success(try CompactJSONDecoder().decode(type, from: text)) } catch { return .failure(DescribedError(text: "\(error)")) }
    }

    static func fastPathDecodes<T: Decodable>(_ type: T.Type, _ text: String) -> Bool {
        (try? CompactJSONDecoder.fastDecode(type, from: text)) != nil
    }

    /// Records the coding path its decoder had, as a custom `init(from:)` might read it.
    struct PathProbe: Decodable, Equatable {
        let path: [String]
        init(from decoder: any Decoder) throws { path = decoder.codingPath.map(\.stringValue) }
    }

    struct Paths: Decodable, Equatable {
        struct Inner: Decodable, Equatable { var deep: PathProbe; var list: [PathProbe] }
        var top: PathProbe
        var inner: Inner
    }

    @Test("a custom init(from:) sees the coding path JSONDecoder gives it, at the top level and nested")
    func codingPaths() throws {
        let text = #"{"top": 1, "inner": {"deep": 2, "list": [3, 4]}}"#
        #expect(Self.fastPathDecodes(Paths.self, text))
        let fast = try CompactJSONDecoder.fastDecode(Paths.self, from: text)
        let foundation = try JSONDecoder().decode(Paths.self, from: Data(text.utf8))
        #expect(fast == foundation)
        #expect(fast.top.path == ["top"])
        #expect(fast.inner.deep.path == ["inner", "deep"])
        #expect(fast.inner.list.map(\.path) == [["inner", "list", "Index 0"], ["inner", "list", "Index 1"]])
    }

    @Test("the fast path decodes nested structs, enums, dictionaries, optionals and dates to JSONDecoder's value")
    func fastPathMatchesJSONDecoder() throws {
        let value = Self.plain()
        let text = try CompactJSONEncoder().encodeToString(value)
        // A member JSONDecoder ignores, and an explicit null for an optional.
        let extended = "{\"unknown\":[1,{\"a\":null}],\"null\":null," + text.dropFirst()
        for json in [text, extended, String(decoding: try JSONEncoder().encode(value), as: UTF8.self)] {
            let fast = try CompactJSONDecoder.fastDecode(Plain.self, from: json)
            #expect(fast == value)
            #expect(fast == (try JSONDecoder().decode(Plain.self, from: Data(json.utf8))))
        }
    }

    @Test("types JSONDecoder decodes by its own rules go to JSONDecoder and come back equal")
    func specialTypesFallBack() throws {
        let value = CompactJSONEncoderTests.sample()
        let text = try CompactJSONEncoder().encodeToString(value)
        #expect(!Self.fastPathDecodes(CompactJSONEncoderTests.Nested.self, text))
        #expect(try CompactJSONDecoder().decode(CompactJSONEncoderTests.Nested.self, from: text) == value)
        #expect(try CompactJSONDecoder().decode(Data.self, from: "\"AQID\"") == Data([1, 2, 3]))
        #expect(try CompactJSONDecoder().decode(URL.self, from: "\"https://example.com/x\"") == URL(string: "https://example.com/x"))
        #expect(try CompactJSONDecoder().decode(Decimal.self, from: "10.25") == Decimal(string: "10.25"))
        #expect(try CompactJSONDecoder().decode(Float.self, from: "0.1") == Float(0.1))
    }

    /// Texts on which the fast path declines or fails: the answer is JSONDecoder's, value or error.
    static let edgeCases: [(String, String)] = [
        ("Int", "1.0"), ("Int", "1e2"), ("Int", "-0"), ("Int", "9223372036854775808"), ("Int8", "128"), ("UInt", "-1"),
        ("Int", "\"1\""), ("Int", "null"), ("Int", "true"), ("Double", "1e400"), ("Double", "-0"), ("Double", "12"),
        ("String", "1"), ("Bool", "0"), ("Plain?", "null"), ("[Int]", "[1,null]"), ("[Int?]", "[1,null]"),
        ("Keyed", #"{"a":1,"a":2}"#), ("Keyed", #"{"a":1}"#), ("Keyed", #"{"a":null,"b":"x"}"#), ("Keyed", #"{"b":"x"}"#),
        ("Keyed", #"{"a":1,"b":2}"#), ("Keyed", "[1]"), ("Keyed", "{"), ("Keyed", ""), ("Keyed", #"{"a":1} x"#),
        ("State", #""running""#), ("State", #""sleeping""#), ("Shape", #"{"circle":{"radius":1},"empty":{}}"#),
        ("Shape", #"{"empty":{}}"#), ("[String:Int]", #"{"x":1,"y":-2}"#),
    ]

    struct Keyed: Codable, Equatable {
        var a: Int?
        var b: String
    }

    @Test("edge cases give exactly JSONDecoder's value or error", arguments: 0..<edgeCases.count)
    func edgeCasesMatchJSONDecoder(index: Int) {
        let (type, text) = Self.edgeCases[index]
        let same: Bool =
            switch type {
            case "Int": Self.compact(Int.self, text) == Self.foundation(Int.self, text)
            case "Int8": Self.compact(Int8.self, text) == Self.foundation(Int8.self, text)
            case "UInt": Self.compact(UInt.self, text) == Self.foundation(UInt.self, text)
            case "Double": Self.compact(Double.self, text).map(\.bitPattern) == Self.foundation(Double.self, text).map(\.bitPattern)
            case "String": Self.compact(String.self, text) == Self.foundation(String.self, text)
            case "Bool": Self.compact(Bool.self, text) == Self.foundation(Bool.self, text)
            case "Plain?": Self.compact(Plain?.self, text) == Self.foundation(Plain?.self, text)
            case "[Int]": Self.compact([Int].self, text) == Self.foundation([Int].self, text)
            case "[Int?]": Self.compact([Int?].self, text) == Self.foundation([Int?].self, text)
            case "Keyed": Self.compact(Keyed.self, text) == Self.foundation(Keyed.self, text)
            case "State": Self.compact(State.self, text) == Self.foundation(State.self, text)
            case "Shape": Self.compact(Shape.self, text) == Self.foundation(Shape.self, text)
            case "[String:Int]": Self.compact([String: Int].self, text) == Self.foundation([String: Int].self, text)
            default: false
            }
        #expect(same, "\(type) from \(text)")
    }

    @Test("a repeated key, a fraction in an integer and a missing member are left to JSONDecoder")
    func declines() {
        #expect(!Self.fastPathDecodes(Keyed.self, #"{"a":1,"a":2,"b":""}"#))
        #expect(!Self.fastPathDecodes(Int.self, "1.0"))
        #expect(!Self.fastPathDecodes(Keyed.self, #"{"a":1}"#))
        #expect(!Self.fastPathDecodes(Double.self, "1e400"))
        #expect(Self.fastPathDecodes(Keyed.self, #"{"b":""}"#))
        #expect(Self.fastPathDecodes(Int64.self, "-9223372036854775808"))
    }
}

/// An error by its description, so two decoders' errors compare.
struct DescribedError: Error, Equatable {
    let text: String
}
