import Testing

@testable import KindModel

/// `indexes:` — multi-column indexes in the `sort=` syntax — and every malformed entry the linter refuses.
@Suite struct KindIndexLintTests {
    /// A podcast-like kind with `indexes:` set to `entries` (YAML text after `indexes:`); `indexes:` is on line 7.
    static func kind(_ entries: String) -> String {
        """
        name: podcast
        fields:
          name: {type: string, required: true}
          duration: {type: integer, index: true}
          host: {type: string, unique: true}
          participants: {type: list, items: {type: string}}
        indexes:\(entries)
        """
    }

    @Test func blockAndFlowSyntaxParseInFileOrder() throws {
        let yaml = Self.kind("\n  # serves ?host=…&sort=-duration,name\n  - [host, -duration, name]\n  - [-created_at, id]\n  - [-duration]")
        let kind = try #require(try KindLoader.parse([("kinds/podcast.yaml", yaml)]).kind(named: "podcast"))
        #expect(kind.indexes == [KindIndex(["host", "-duration", "name"]), KindIndex(["-created_at", "id"]), KindIndex(["-duration"])])
        #expect(kind.indexes[0].keys[1] == IndexKey(field: "duration", descending: true))
        #expect(kind.indexes[0].needsIDTiebreaker && !kind.indexes[1].needsIDTiebreaker)
        let flow = try KindLoader.parse([("kinds/podcast.yaml", Self.kind(" [[host, -duration, name]]"))])
        #expect(flow.kind(named: "podcast")?.indexes == [KindIndex(["host", "-duration", "name"])])
    }

    @Test func withoutIndexesThereAreNone() throws {
        let kind = try KindLoader.parse([("kinds/a.yaml", "fields:\n  n: {type: string}\n")]).kind(named: "a")
        #expect(kind?.indexes == [])
    }

    @Test func notAListOrAnEntryNotAList() {
        expectProblem(Self.kind(" host"), "`indexes:` must be a list of sort-key lists", line: 7)
        expectProblem(Self.kind("\n  - host"), "each `indexes:` entry must be a list of sort keys", line: 8)
        expectProblem(Self.kind("\n  - [[host]]"), "'indexes' must be a single value", line: 8)
    }

    @Test func emptyEntry() {
        expectProblem(Self.kind("\n  - []"), "an `indexes:` entry is empty", line: 8)
    }

    @Test func unknownFieldListsTheAllowedOnes() {
        expectProblem(
            Self.kind("\n  - [host, -durration]"),
            "index key '-durration': 'durration' is not a field of kind 'podcast'; use one of: name, duration, host, id, created_at, updated_at",
            line: 8)
        expectProblem(Self.kind("\n  - [filetype]"), "'filetype' is not a field")
    }

    @Test func listFieldCannotBeAKey() {
        expectProblem(Self.kind("\n  - [participants]"), "'participants' is a list field, which cannot be sorted by", line: 8)
    }

    @Test func keyNamedTwiceInOneEntry() {
        expectProblem(Self.kind("\n  - [host, name, -host]"), "index key 'host' is named twice in one entry", line: 8)
    }

    @Test func keysAfterIDAreRefused() {
        expectProblem(Self.kind("\n  - [id, name]"), "index key 'name' follows 'id'", line: 8)
    }

    @Test func sameEntryTwice() {
        expectProblem(Self.kind("\n  - [host, name]\n  - [host, name]"), "index [host, name] is listed twice", line: 9)
        #expect(problems(Self.kind("\n  - [host, name]\n  - [host, -name]")).isEmpty, "directions differ: two indexes")
    }

    @Test func tooManyKeys() {
        let fields = (1...9).map { "  f\($0): {type: integer}" }.joined(separator: "\n")
        let yaml = "name: wide\nfields:\n\(fields)\nindexes:\n  - [\((1...9).map { "f\($0)" }.joined(separator: ", "))]\n"
        expectProblem(yaml, "has 9 keys; at most 8 are allowed", line: 13)
    }

    @Test func entryRepeatingAFieldIndexOrUnique() {
        expectProblem(Self.kind("\n  - [duration]"), "repeats `index: true` of field 'duration' (both would be named podcast_duration_idx)", line: 8)
        expectProblem(Self.kind("\n  - [host]"), "repeats the index that `unique: true` of field 'host' already has", line: 8)
        // Descending, the field's own index does not give NULLS LAST order; the entry is useful.
        #expect(problems(Self.kind("\n  - [-duration]")).isEmpty)
    }

    @Test func unknownKindKeyListsIndexes() {
        expectProblem(
            "fields:\n  a: {type: string}\nindex: [[a]]\n",
            "expected one of: access, additional_fields, aliases, description, fields, indexes, name, renamed_from, upload")
    }
}
