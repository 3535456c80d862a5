import Foundation
import Testing

@testable import KindModel

private let catalog: KindCatalog = try! KindLoader.load(directory: repoRoot + "/kinds")

private func issues(_ body: JSONValue, kind: String = "podcast", mode: RecordValidator.Mode = .create) -> [ValidationIssue] {
    guard case .object(let object) = body, let k = catalog.kind(named: kind) else { fatalError("bad test input") }
    switch RecordValidator.validate(object, kind: k, mode: mode, ignoring: ["filetype"]) {
    case .success: return []
    case .failure(let f): return f.issues
    }
}

private func codes(_ body: JSONValue, kind: String = "podcast", mode: RecordValidator.Mode = .create) -> [String] {
    issues(body, kind: kind, mode: mode).map { "\($0.field):\($0.code)" }
}

private let validPodcast: [(String, JSONValue)] = [("name", "Ep"), ("duration", 60), ("host", "Joe")]

private func podcast(_ changes: [(String, JSONValue?)]) -> JSONValue {
    var object = JSONObject(validPodcast.map { (key: $0.0, value: $0.1) })
    for (k, v) in changes { object[k] = v }
    return .object(object)
}

@Suite struct RecordValidatorTests {
    @Test func validRecordWithDefaults() throws {
        guard case .object(let o) = podcast([]) else { return }
        let record = try RecordValidator.validate(o, kind: catalog.kind(named: "podcast")!, mode: .create).get()
        #expect(record["name"] == .string("Ep"))
        #expect(record["duration"] == .integer(60))
        #expect(record["participants"] == .list([]))
    }

    @Test func nameLengthEdges() {
        #expect(codes(podcast([("name", .string(String(repeating: "x", count: 100)))])) == [])
        #expect(codes(podcast([("name", .string(String(repeating: "x", count: 101)))])) == ["name:max_length"])
        #expect(codes(podcast([("name", "")])) == ["name:min_length"])
        #expect(codes(podcast([("name", "x")])) == [])
        // Length counts code points like PostgreSQL: 100 emoji with modifiers would be more.
        #expect(codes(podcast([("name", .string(String(repeating: "é", count: 100)))])) == [])
        #expect(codes(podcast([("name", .string(String(repeating: "e\u{301}", count: 51)))])) == ["name:max_length"])
    }

    @Test func durationEdges() {
        #expect(codes(podcast([("duration", 0)])) == ["duration:min"])
        #expect(codes(podcast([("duration", 1)])) == [])
        #expect(codes(podcast([("duration", 2147483647)])) == [])
        #expect(codes(podcast([("duration", 2147483648)])) == ["duration:max"])
        #expect(codes(podcast([("duration", -1)])) == ["duration:min"])
        #expect(codes(podcast([("duration", .number(JSONNumber(literal: "99999999999999999999999")))])) == ["duration:max"])
        #expect(codes(podcast([("duration", .number(JSONNumber(literal: "-99999999999999999999999")))])) == ["duration:min"])
        #expect(codes(podcast([("duration", .number(JSONNumber(literal: "60.0")))])) == [])
        #expect(codes(podcast([("duration", .number(JSONNumber(literal: "60.5")))])) == ["duration:type"])
        #expect(codes(podcast([("duration", "60")])) == ["duration:type"])
        // Whole is judged on the literal's digits, not on the double it rounds to.
        for whole in ["60.000", "6e1", "6000e-2", "0.6E2", "-0.0"] {
            let expected = whole == "-0.0" ? ["duration:min"] : []
            #expect(codes(podcast([("duration", .number(JSONNumber(literal: whole)))])) == expected, "\(whole)")
        }
        for fraction in ["60.000000000000000001", "60.0000000000000001e0", "6000000000000000001e-17", "1e-400"] {
            let found = issues(podcast([("duration", .number(JSONNumber(literal: fraction)))]))
            #expect(found.map { "\($0.field):\($0.code)" } == ["duration:type"], "\(fraction)")
            #expect(found.first?.message.contains("must be a whole number") == true)
        }
        #expect(codes(podcast([("duration", true)])) == ["duration:type"])
    }

    /// Integers are read from the literal's digits: a double would round 2^53 + 1 to 2^53, and
    /// refuse Int64.max written with a fraction.
    @Test func integerLiteralsAreExact() {
        #expect(JSONNumber(literal: "9007199254740993.0").int64 == 9_007_199_254_740_993)
        #expect(JSONNumber(literal: "9223372036854775807.0").int64 == Int64.max)
        #expect(JSONNumber(literal: "-9223372036854775808e0").int64 == Int64.min)
        #expect(JSONNumber(literal: "9223372036854775808.0").int64 == nil)
        #expect(JSONNumber(literal: "1e400").isIntegral && JSONNumber(literal: "1e400").int64 == nil)
        #expect(JSONNumber(literal: "1e-999999999999999999999").int64 == nil)
        #expect(!JSONNumber(literal: "60.000000000000000001").isIntegral)
    }

    @Test func participantsEdges() {
        let ten = JSONValue.array((0..<10).map { .string("p\($0)") })
        let eleven = JSONValue.array((0..<11).map { .string("p\($0)") })
        #expect(codes(podcast([("participants", ten)])) == [])
        #expect(codes(podcast([("participants", eleven)])) == ["participants:max_items"])
        #expect(codes(podcast([("participants", ["a", "b", "c", ""])])) == ["participants[3]:min_length"])
        #expect(codes(podcast([("participants", ["a", .string(String(repeating: "x", count: 101))])])) == ["participants[1]:max_length"])
        #expect(codes(podcast([("participants", ["a", 5])])) == ["participants[1]:type"])
        #expect(codes(podcast([("participants", ["a", nil])])) == ["participants[1]:type"])
        #expect(codes(podcast([("participants", "a")])) == ["participants:type"])
        #expect(codes(podcast([("participants", nil)])) == [])
    }

    @Test func requiredMissingAndNull() {
        #expect(codes(podcast([("host", nil as JSONValue?)])) == ["host:required"])
        #expect(codes(podcast([("host", .null)])) == ["host:required"])
        let all = codes(.object(JSONObject()), kind: "podcast")
        #expect(all == ["name:required", "duration:required", "host:required"])
    }

    @Test func everyProblemAtOnce() {
        let found = issues(podcast([("name", ""), ("duration", 0), ("host", 3), ("participants", ["", "ok"]), ("extra", 1)]))
        #expect(
            found.map(\.code.rawValue).sorted()
                == ["max", "min", "min_length", "min_length", "type", "unknown_field"].sorted().filter { $0 != "max" }.sorted())
        #expect(found.contains { $0.field == "extra" && $0.message.contains("not a field of podcast") })
    }

    @Test func systemFieldsAreNotWritable() {
        let found = issues(podcast([("id", 5)]))
        #expect(found.map(\.code) == [.unknownField])
        #expect(found.first?.message.contains("set by the server") == true)
    }

    @Test func nulCharacters() {
        #expect(codes(podcast([("name", "a\u{0}b")])) == ["name:invalid_character"])
        #expect(codes(podcast([("participants", ["a\u{0}"])])) == ["participants[0]:invalid_character"])
    }

    @Test func updateModeOnlyChecksPresentFields() {
        #expect(codes(.object(JSONObject([("name", "New")])), mode: .update) == [])
        #expect(codes(.object(JSONObject([("host", .null)])), mode: .update) == ["host:required"])
        #expect(codes(.object(JSONObject()), mode: .update) == [])
    }

    @Test func otherTypes() throws {
        let yaml = """
            fields:
              when: {type: datetime, not_in_past: true}
              day: {type: date}
              mood: {type: enum, values: [happy, sad]}
              flag: {type: boolean}
              ratio: {type: number, min: 0, max: 1}
              code: {type: string, pattern: "^[A-Z]{2}[0-9]{3}$"}
              tags: {type: list, items: {type: integer, min: 1}, min_items: 1}
            additional_fields: ignore
            """
        let kind = try #require(try KindLoader.parse([("kinds/x.yaml", yaml)]).kind(named: "x"))
        func check(_ pairs: [(String, JSONValue)]) -> [String] {
            switch RecordValidator.validate(JSONObject(pairs.map { (key: $0.0, value: $0.1) }), kind: kind, mode: .update) {
            case .success: return []
            case .failure(let f): return f.issues.map { "\($0.field):\($0.code)" }
            }
        }
        #expect(check([("when", "2999-01-01T00:00:00Z")]) == [])
        #expect(check([("when", "2999-01-01T00:00:00.5+02:00")]) == [])
        #expect(check([("when", "2001-01-01T00:00:00Z")]) == ["when:not_in_past"])
        #expect(check([("when", "2999-01-01")]) == ["when:format"])
        #expect(check([("when", "2999-13-01T00:00:00Z")]) == ["when:format"])
        #expect(check([("day", "2024-02-29")]) == [])
        #expect(check([("day", "2023-02-29")]) == ["day:format"])
        #expect(check([("day", 20240101)]) == ["day:type"])
        #expect(check([("mood", "happy")]) == [])
        #expect(check([("mood", "angry")]) == ["mood:enum"])
        #expect(check([("flag", false)]) == [])
        #expect(check([("flag", "false")]) == ["flag:type"])
        #expect(check([("ratio", 0.5)]) == [])
        #expect(check([("ratio", 1.5)]) == ["ratio:max"])
        #expect(check([("ratio", .number(JSONNumber(literal: "1e400")))]) == ["ratio:out_of_range"])
        #expect(check([("code", "AB123")]) == [])
        #expect(check([("code", "ab123")]) == ["code:pattern"])
        #expect(check([("tags", [1, 2])]) == [])
        #expect(check([("tags", [])]) == ["tags:min_items"])
        #expect(check([("tags", [0])]) == ["tags[0]:min"])
        #expect(check([("unknown", 1)]) == [])  // additional_fields: ignore
    }

    /// A nonzero number too close to zero for a double (it would round to 0) is refused like one
    /// too large, not stored as 0; the smallest doubles (subnormals) are still numbers.
    @Test func underflowIsRefusedLikeOverflow() throws {
        let kind = try #require(try KindLoader.parse([("kinds/x.yaml", "fields:\n  rating: {type: number}\n")]).kind(named: "x"))
        func check(_ literal: String) -> [ValidationIssue] {
            switch RecordValidator.validate(JSONObject([("rating", .number(JSONNumber(literal: literal)))]), kind: kind, mode: .create) {
            case .success: return []
            case .failure(let f): return f.issues
            }
        }
        for literal in ["1e-400", "-1e-400", "0." + String(repeating: "0", count: 400) + "1", "2e-324"] {
            let found = check(literal)
            #expect(found.map { "\($0.field):\($0.code)" } == ["rating:out_of_range"], "\(literal)")
            #expect(found.first?.message.contains("round it to 0") == true, "\(found)")
        }
        for literal in ["0", "0.0", "-0e-400", "0e999", "1e-310", "5e-324", "2.2250738585072014e-308"] {
            #expect(check(literal).isEmpty, "\(literal)")
        }
    }

    @Test func rfc3339RoundTrip() throws {
        let date = try #require(RFC3339.parseDateTime("2026-01-31T18:30:00.25+01:00"))
        #expect(RFC3339.format(date) == "2026-01-31T17:30:00.250000Z")
        #expect(RFC3339.parseDateTime("2026-01-31T18:30:00") == nil)
        #expect(RFC3339.isValidDate("2000-02-29") && !RFC3339.isValidDate("1900-02-29") && !RFC3339.isValidDate("0000-01-01"))
    }
}

/// RFC 3339 allows offsets up to ±23:59, PostgreSQL only ±15:59: such date-times are stored as the
/// same instant in UTC, computed exactly (the fraction's digits kept).
@Suite struct StorableDateTimeTests {
    @Test func offsetsPostgreSQLRefusesBecomeUTC() {
        #expect(RFC3339.storable("0531-11-26T22:42:32+19:58") == "0531-11-26T02:44:32Z")
        #expect(RFC3339.storable("2026-01-01T05:00:00.123456+20:30") == "2025-12-31T08:30:00.123456Z")
        #expect(RFC3339.storable("2026-12-31t20:00:00-18:00") == "2027-01-01T14:00:00Z")
        #expect(RFC3339.storable("2028-02-28T23:59:59.5-23:59") == "2028-02-29T23:58:59.5Z")
        // What PostgreSQL reads as it is stays as it is (upper-cased).
        #expect(RFC3339.storable("2026-01-31t18:30:00.1+15:59") == "2026-01-31T18:30:00.1+15:59")
        #expect(RFC3339.storable("2026-01-31T18:30:00z") == "2026-01-31T18:30:00Z")
        for text in ["0531-11-26T22:42:32+19:58", "2026-01-01T05:00:00.25+20:30", "2026-12-31T20:00:00-18:00", "9999-12-30T10:00:00-16:00"] {
            #expect(RFC3339.parseDateTime(RFC3339.storable(text)) == RFC3339.parseDateTime(text), "\(text)")
        }
    }
}
