import Testing
@testable import KindModel

@Suite struct JSONParserTests {
    @Test func parsesAndKeepsOrder() throws {
        let value = try JSONParser.parse(#"{"b": 1, "a": [true, null, "x\n\u00e9\ud83c\udfb5"], "c": -1.5e3}"#)
        guard case .object(let o) = value else { Issue.record("not an object"); return }
        #expect(o.keys == ["b", "a", "c"])
        #expect(o["a"] == .array([.bool(true), .null, .string("x\né🎵")]))
        #expect(o["c"] == .number(JSONNumber(literal: "-1.5e3")))
        #expect(JSONWriter.string(value) == #"{"b":1,"a":[true,null,"x\né🎵"],"c":-1.5e3}"#)
    }

    @Test(arguments: [
        ("", "Unexpected end"), ("{", "Expected a string key"), (#"{"a":1,}"#, "Expected a string key"),
        (#"{"a" 1}"#, "Expected ':'"), ("[1,]", "Unexpected character"), ("01", "Unexpected text"),
        (#"{"a":1,"a":2}"#, "Duplicate key"), (#""\ud800""#, "Lone surrogate"), ("nul", "Invalid literal"),
        ("\"a\u{01}\"", "Control character"), ("1.", "digits expected"), (#"{"a":1} x"#, "Unexpected text"),
    ])
    func rejects(_ text: String, _ fragment: String) {
        do {
            _ = try JSONParser.parse(text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.message.contains(fragment), "\(error)")
        }
    }

    @Test func depthIsLimited() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(deep) }
        let ok = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        #expect((try? JSONParser.parse(ok)) != nil)
    }

    @Test func errorPositions() {
        do {
            _ = try JSONParser.parse("{\n  \"a\": x\n}")
        } catch {
            #expect(error.line == 2 && error.column == 8)
        }
    }

    @Test func invalidUTF8() {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse([0x22, 0xFF, 0x22]) }
    }
}
