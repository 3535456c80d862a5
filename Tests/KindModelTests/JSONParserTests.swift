import Testing

@testable import KindModel

@Suite struct JSONParserTests {
    @Test func parsesAndKeepsOrder() throws {
        let value = try JSONParser.parse(#"{"b": 1, "a": [true, null, "x\n\u00e9\ud83c\udfb5"], "c": -1.5e3}"#)
        guard case .object(let o) = value else {
            Issue.record("not an object")
            return
        }
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

    /// `{"k0":0,"k1":1,…}` with `count` members, then `extra` appended as raw member text.
    static func object(count: Int, extra: String = "") -> String {
        var text = "{" + (0..<count).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        if !extra.isEmpty { text += (count > 0 ? "," : "") + extra }
        return text + "}"
    }

    @Test func membersUpToTheCapParseInOrder() throws {
        let value = try JSONParser.parse(Self.object(count: JSONParser.maxMembers))
        let object = try #require(value.objectValue)
        #expect(object.count == 10_000)
        #expect(object.keys.first == "k0" && object.keys.last == "k9999")
        #expect(object["k5000"] == .integer(5000))
    }

    @Test func oneMemberOverTheCapIsALimitError() {
        do {
            _ = try JSONParser.parse(Self.object(count: JSONParser.maxMembers, extra: #""one-more":1"#))
            Issue.record("accepted 10,001 members")
        } catch {
            #expect(error.isLimit)
            #expect(error.message.contains("more than 10000 members"), "\(error)")
        }
        // The cap is per object: two objects of 6,000 members each are fine.
        let pair = "[" + Self.object(count: 6000) + "," + Self.object(count: 6000) + "]"
        #expect((try? JSONParser.parse(pair)) != nil)
    }

    /// Duplicates are found by a scan while an object is small and by a hash set past 16 members:
    /// each side of the switch, and the switch itself, must catch them.
    @Test(arguments: [(1, "k0"), (15, "k3"), (16, "k0"), (16, "k15"), (17, "k16"), (5000, "k0"), (5000, "k4999"), (5000, "k2500")])
    func duplicateKeysAreFoundAtAnySize(count: Int, duplicate: String) {
        do {
            _ = try JSONParser.parse(Self.object(count: count, extra: "\"\(duplicate)\":true"))
            Issue.record("accepted a duplicate \(duplicate) after \(count) members")
        } catch {
            #expect(error.message == "Duplicate key \"\(duplicate)\"", "\(error)")
            #expect(!error.isLimit)
        }
    }

    @Test func keySetsAreNotSharedBetweenObjects() throws {
        let inner = Self.object(count: 20)
        let value = try JSONParser.parse(#"{"a":\#(inner),"b":\#(inner),"k0":{"k0":1}}"#)
        #expect(value.objectValue?.keys == ["a", "b", "k0"])
    }

    @Test func longEscapedStringsDecodeExactly() throws {
        // Every kind of escape, raw multi-byte UTF-8 between them, 20,000 times (~600 KB).
        let unit = #"\n\t\"\\\/\b\f\r\u00e9\u20AC\ud83c\udfb5é€🎵x"#
        let expectedUnit = "\n\t\"\\/\u{08}\u{0C}\ré€🎵é€🎵x"
        let value = try JSONParser.parse("\"" + String(repeating: unit, count: 20_000) + "\"")
        let decoded = try #require(value.stringValue)
        #expect(decoded == String(repeating: expectedUnit, count: 20_000))
        #expect(decoded.unicodeScalars.count == 20_000 * expectedUnit.unicodeScalars.count)
    }

    @Test func invalidUTF8BesideEscapesIsRefused() {
        // 0xFF after an escape; a lead byte cut short by an escape; a continuation byte alone.
        for bytes: [UInt8] in [[0x22, 0x5C, 0x6E, 0xFF, 0x22], [0x22, 0xC3, 0x5C, 0x6E, 0x22], [0x22, 0x5C, 0x6E, 0xA9, 0x22]] {
            do {
                _ = try JSONParser.parse(bytes)
                Issue.record("accepted \(bytes)")
            } catch {
                #expect(error.message == "Invalid UTF-8 in string", "\(bytes): \(error)")
            }
        }
    }

    @Test func depthIsALimitAndSyntaxIsNot() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(deep) }
        #expect((try? JSONParser.parse(deep)) == nil)
        do { _ = try JSONParser.parse(deep) } catch { #expect(error.isLimit) }
        do { _ = try JSONParser.parse("[1,]") } catch { #expect(!error.isLimit) }
    }
}
