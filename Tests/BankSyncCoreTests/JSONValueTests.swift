import BankSyncCore
import Testing

@Suite("JSONValue: the provider wire parser")
struct JSONValueTests {
    func parse(_ text: String) throws(JSONParseError) -> JSONValue { try JSONValue.parse(Array(text.utf8)) }

    @Test("strings with and without escapes, surrogate pairs and raw UTF-8 read exactly")
    func strings() throws {
        #expect(try parse(#""plain text""#) == .string("plain text"))
        #expect(try parse(#""q\"b\\s\/n\nr\rt\tb\bf\f""#) == .string("q\"b\\s/n\nr\rt\tb\u{08}f\u{0C}"))
        #expect(try parse(#""caf\u00e9 \ud83d\ude00 ☕️ 東京""#) == .string("café 😀 ☕️ 東京"))
        #expect(try parse(#""tail escape\u0041""#) == .string("tail escapeA"))
        #expect(try parse(#""""#) == .string(""))
    }

    @Test("numbers keep their text; objects keep key order; literals and nesting")
    func structure() throws {
        let value = try parse(#" { "b" : [1, -2.50, 3e2, true, false, null], "a": {"x": "y"} } "#)
        guard case .object(let members) = value else { Issue.record("not an object"); return }
        #expect(members.map(\.0) == ["b", "a"])
        #expect(value["b"] == .array([.number("1"), .number("-2.50"), .number("3e2"), .bool(true), .bool(false), .null]))
        #expect(value["a"]?["x"]?.stringValue == "y")
        #expect(String(decoding: value.serialized(), as: UTF8.self) == #"{"b":[1,-2.50,3e2,true,false,null],"a":{"x":"y"}}"#)
    }

    @Test("strings serialize with their escapes in place and read back the same")
    func escapesSerialize() throws {
        let texts = ["plain", "", "a\"b\\c\nd\u{1}", "\"lead", "trail\\", "tab\there\r", "café ☕️ 東京 😀", "\u{1f}\u{0}x"]
        for text in texts {
            let written = String(decoding: JSONValue.string(text).serialized(), as: UTF8.self)
            #expect(try parse(written) == .string(text), "\(written)")
        }
        #expect(String(decoding: JSONValue.string("a\"b\\c\nd\u{1}é").serialized(), as: UTF8.self) == #""a\"b\\c\nd\u0001é""#)
    }

    @Test(
        "malformed documents are refused with what was wrong",
        arguments: [
            (#""unterminated"#, "unterminated string"), (#""bad \x escape""#, "invalid escape"), ("\"tab\there\"", "control character in a string"),
            (#""\ud83d alone""#, "unpaired surrogate"), ("tru", "invalid literal"), ("nul", "invalid literal"), ("[1, 2", "unexpected end of input"),
            ("{\"a\" 1}", "expected ':'"), ("[1 2]", "expected ',' or ']'"), ("-", "invalid number"), ("1.", "invalid number"), ("{} x", "unexpected text"),
            (String(repeating: "[", count: 70), "nesting deeper than 64 levels"),
        ])
    func refuses(text: String, message: String) {
        do {
            _ = try parse(text)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.message.hasPrefix(message), "\(text): \(error)")
        }
    }
}
