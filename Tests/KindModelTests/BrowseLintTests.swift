import Testing

@testable import KindModel

/// `browse:` — browsing fields, each kept in a `(field, id)` index per direction — and every
/// field the linter refuses as one, reported at the `browse:` key as FILE:LINE:COL.
@Suite struct BrowseLintTests {
    /// A kind whose field `f` (on line 4) has the given flow-mapping body.
    static func kind(_ field: String, indexes: String = "") -> String {
        "name: sample\nfields:\n  name: {type: string}\n  f: {\(field)}\n" + indexes
    }

    @Test func directionsParseIntoBrowseIndexesAscendingFirst() throws {
        func browse(_ value: String) throws -> (BrowseOrder?, [KindIndex]) {
            let kind = try #require(try KindLoader.parse([("kinds/sample.yaml", Self.kind("type: integer, browse: \(value)"))]).kind(named: "sample"))
            return (kind.field(named: "f")?.browse, kind.browseIndexes)
        }
        #expect(try browse("true") == (.both, [KindIndex(["f"]), KindIndex(["-f"])]))
        #expect(try browse("asc") == (.asc, [KindIndex(["f"])]))
        #expect(try browse("desc") == (.desc, [KindIndex(["-f"])]))
        #expect(try browse("false") == (nil, []))
        let kind = try #require(
            try KindLoader.parse([("kinds/sample.yaml", Self.kind("type: date, browse: desc", indexes: "indexes:\n  - [name, -f]\n"))]).kind(
                named: "sample"))
        #expect(kind.allIndexes == [KindIndex(["-f"]), KindIndex(["name", "-f"])])
        #expect(kind.indexedSorts == ["id", "-id", "-f", "name"])
    }

    @Test func fieldsAB_TreeCannotHoldAreRefusedAtTheBrowseKey() {
        let list = problems(Self.kind("type: list, items: {type: string}, browse: true"))
        #expect(list.contains { $0.hasPrefix("kinds/sample.yaml:4:") && $0.contains("`browse` does not apply to a list") }, "\(list)")
        let text = problems(Self.kind("type: text, browse: true"))
        #expect(
            text == [
                "kinds/sample.yaml:4:27: field 'f': a text field cannot be a browsing field (browse needs a field a b-tree can index; a text value may exceed the index's 2704-byte entry limit); make it `type: string` with `max_length` of at most 671, or remove `browse`"
            ], "\(text)")
        expectProblem(
            Self.kind("type: string, max_length: 700, browse: true"),
            "field 'f': `browse` (its `(f, id)` index) cannot index every value: an entry can take up to 2824 bytes", line: 4)
        expectProblem(Self.kind("type: string, max_length: 700, browse: true"), "lower max_length of 'f' to 671 or less, or remove `browse`", line: 4)
        #expect(problems(Self.kind("type: string, max_length: 671, browse: true")).isEmpty)
        #expect(problems(Self.kind("type: string, browse: asc")).isEmpty, "the default max_length 255 fits")
        for type in ["integer", "number", "boolean", "datetime", "date", "enum, values: [a, b]"] {
            #expect(problems(Self.kind("type: \(type), browse: true")).isEmpty, "\(type)")
        }
    }

    @Test func browseBesideIndexOrARepeatingEntryIsRedundant() {
        expectProblem(Self.kind("type: integer, index: true, browse: true"), "`index: true` repeats what `browse` already gives", line: 4)
        expectProblem(
            Self.kind("type: integer, browse: true", indexes: "indexes:\n  - [f]\n"),
            "index [f] repeats the index that `browse` of field 'f' already creates", line: 6)
        expectProblem(Self.kind("type: integer, browse: desc", indexes: "indexes:\n  - [-f, id]\n"), "repeats the index that `browse`", line: 6)
        // The other direction is not a repeat of `browse: asc`.
        #expect(problems(Self.kind("type: integer, browse: asc", indexes: "indexes:\n  - [-f]\n")).isEmpty)
    }

    @Test func aValueOtherThanTrueFalseAscDesc() {
        expectProblem(Self.kind("type: integer, browse: sideways"), "'browse' must be true (both directions), asc, desc or false", line: 4)
        expectProblem(Self.kind("type: integer, browse: both"), "'browse' must be true", line: 4)
    }
}
