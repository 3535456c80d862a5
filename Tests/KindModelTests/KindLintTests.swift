import Foundation
import Testing

@testable import KindModel

/// Parses one kind file named `kinds/<file>` and returns the problems as `FILE:LINE:COL: message` lines.
func problems(_ yaml: String, file: String = "kinds/sample.yaml") -> [String] {
    do {
        _ = try KindLoader.parse([(file, yaml)])
        return []
    } catch {
        return error.problems.map(\.description)
    }
}

func expectProblem(_ yaml: String, _ fragment: String, line: Int? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    let found = problems(yaml)
    #expect(found.contains { $0.contains(fragment) }, "expected a problem containing '\(fragment)', got \(found)", sourceLocation: sourceLocation)
    if let line {
        #expect(
            found.contains { $0.hasPrefix("kinds/sample.yaml:\(line):") && $0.contains(fragment) },
            "expected '\(fragment)' on line \(line), got \(found)", sourceLocation: sourceLocation)
    }
}

@Suite struct KindLintTests {
    @Test func shippedKindsLoad() throws {
        let catalog = try KindLoader.load(directory: repoRoot + "/kinds")
        #expect(catalog.names == ["audio_book", "podcast", "song"])
        #expect(catalog.kind(named: "audiobook")?.name == "audio_book")
        let podcast = try #require(catalog.kind(named: "podcast"))
        #expect(podcast.fields.map(\.name) == ["name", "duration", "host", "participants"])
        let participants = try #require(podcast.field(named: "participants"))
        #expect(participants.type == .list && participants.itemType == .string)
        #expect(participants.maxItems == 10 && participants.rules.maxLength == 100 && participants.rules.minLength == 1)
        #expect(participants.defaultValue == .array([]))
        let duration = try #require(podcast.field(named: "duration"))
        #expect(duration.rules.min == 1 && duration.rules.max == 2147483647 && duration.required)
        #expect(podcast.indexes == [KindIndex(["host", "-duration", "name"])])
    }

    @Test func fullVocabularyParses() throws {
        let yaml = """
            name: jingle
            description: Short station idents.
            aliases: [ident, sting]
            additional_fields: ignore
            fields:
              title: {type: string, required: true, min_length: 1, max_length: 80, pattern: "^[A-Z]"}
              notes: {type: text, max_length: 5000}
              plays: {type: integer, min: 0, default: 0, index: true}
              loudness: {type: number, min: -70.5, max: 0}
              explicit: {type: boolean, default: false}
              air_at: {type: datetime, not_in_past: true}
              recorded_on: {type: date}
              mood: {type: enum, values: [happy, sad], default: happy}
              code: {type: string, unique: true, max_length: 12}
              tags: {type: list, items: {type: enum, values: [a, b]}, min_items: 1, max_items: 3}
              scores: {type: list, items: {type: integer, min: 1, max: 5}}
            upload:
              formats: [mp3, wav]
              max_size: 200MB
              duration_field: plays
              duration_tolerance: 5%
            """
        let catalog = try KindLoader.parse([("kinds/jingle.yaml", yaml)])
        let kind = try #require(catalog.kind(named: "sting"))
        #expect(kind.name == "jingle" && kind.additionalFields == .ignore && kind.aliases == ["ident", "sting"])
        #expect(
            kind.fields.map(\.name) == ["title", "notes", "plays", "loudness", "explicit", "air_at", "recorded_on", "mood", "code", "tags", "scores"])
        #expect(kind.field(named: "title")?.rules.pattern == "^[A-Z]")
        #expect(kind.field(named: "plays")?.defaultValue == .integer(0))
        #expect(kind.field(named: "plays")?.index == true)
        #expect(kind.field(named: "loudness")?.rules.min == -70.5)
        #expect(kind.field(named: "air_at")?.rules.notInPast == true)
        #expect(kind.field(named: "mood")?.rules.enumValues == ["happy", "sad"])
        #expect(kind.field(named: "code")?.unique == true)
        #expect(kind.field(named: "tags")?.itemType == .enum && kind.field(named: "tags")?.minItems == 1)
        #expect(kind.upload == UploadRules(formats: ["mp3", "wav"], maxSize: 200_000_000, durationField: "plays", durationTolerance: .percent(5)))
        #expect(kind.field(named: "notes")?.rules.maxLength == 5000)
    }

    @Test func stringWithoutMaxLengthGetsDefault() throws {
        let catalog = try KindLoader.parse([("kinds/a.yaml", "fields:\n  n: {type: string}\n")])
        #expect(catalog.kind(named: "a")?.field(named: "n")?.rules.maxLength == 255)
    }

    @Test func unknownType() {
        expectProblem("fields:\n  name:\n    type: strin\n", "unknown type 'strin'", line: 3)
    }

    @Test func unknownConstraintKey() {
        expectProblem("fields:\n  name:\n    type: string\n    max_lenght: 3\n", "unknown constraint `max_lenght`", line: 4)
    }

    @Test func constraintThatDoesNotFitType() {
        expectProblem("fields:\n  name:\n    type: string\n    max_items: 3\n", "`max_items` does not apply to a string", line: 4)
        expectProblem("fields:\n  n:\n    type: integer\n    max_length: 3\n", "`max_length` does not apply to an integer")
        expectProblem("fields:\n  n:\n    type: boolean\n    min: 3\n", "`min` does not apply to a boolean")
        expectProblem("fields:\n  n:\n    type: string\n    not_in_past: true\n", "`not_in_past` does not apply to a string")
    }

    @Test func contradictoryBounds() {
        expectProblem("fields:\n  n:\n    type: string\n    min_length: 5\n    max_length: 2\n", "min_length (5) is greater than max_length (2)")
        expectProblem("fields:\n  n:\n    type: integer\n    min: 5\n    max: 2\n", "min (5) is greater than max (2)")
        expectProblem(
            "fields:\n  n:\n    type: list\n    items: {type: string}\n    min_items: 5\n    max_items: 2\n",
            "min_items (5) is greater than max_items (2)")
    }

    @Test func badNames() {
        expectProblem("fields:\n  Name:\n    type: string\n", "field name 'Name' must match [a-z][a-z0-9_]{0,47}", line: 2)
        expectProblem("fields:\n  1abc:\n    type: string\n", "must match")
        expectProblem("fields:\n  \(String(repeating: "a", count: 49)):\n    type: string\n", "must match")
        expectProblem("name: Bad-Kind\nfields:\n  a:\n    type: string\n", "kind name 'Bad-Kind' must match", line: 1)
        expectProblem("name: create\nfields:\n  a:\n    type: string\n", "reserved")
    }

    @Test func systemColumnClash() {
        for name in ["id", "filetype", "created_at", "updated_at", "uploaded_time", "file"] {
            expectProblem("fields:\n  \(name):\n    type: string\n", "clashes with a system column", line: 2)
        }
    }

    /// Kind names and aliases are checked against the same system column list as field names, at
    /// their own position.
    @Test func kindNameOrAliasClashingWithASystemColumn() {
        for name in SystemColumn.names.sorted() {
            #expect(
                problems("name: \(name)\nfields:\n  a: {type: string}\n").contains {
                    $0.hasPrefix("kinds/sample.yaml:1:7: ") && $0.contains("kind name '\(name)' clashes with a system column")
                }, "\(name)")
            #expect(
                problems("name: tune\naliases: [ok, \(name)]\nfields:\n  a: {type: string}\n").contains {
                    $0.hasPrefix("kinds/sample.yaml:2:15: ") && $0.contains("alias '\(name)' clashes with a system column")
                }, "\(name)")
        }
        // Without `name:`, the file name is the kind name.
        #expect(problems("fields:\n  a: {type: string}\n", file: "kinds/id.yaml").contains { $0.contains("kind name 'id' clashes") })
    }

    @Test func duplicateKindsAndAliases() {
        let a = "name: song\nfields:\n  a: {type: string}\n"
        let b = "name: tune\naliases: [song]\nfields:\n  a: {type: string}\n"
        do {
            _ = try KindLoader.parse([("kinds/a.yaml", a), ("kinds/b.yaml", b)])
            Issue.record("duplicate alias accepted")
        } catch {
            #expect(error.problems.contains { $0.file == "kinds/b.yaml" && $0.message.contains("'song' is already used by kind 'song'") })
        }
        do {
            _ = try KindLoader.parse([("kinds/a.yaml", a), ("kinds/c.yaml", a)])
            Issue.record("duplicate kind accepted")
        } catch {
            #expect(error.problems.count == 1)
        }
    }

    /// A repeated alias is reported where that alias is written, not at the kind's `name:`.
    @Test func duplicateAliasIsReportedAtTheAlias() {
        let a = "name: song\nfields:\n  a: {type: string}\n"
        let b = "name: tune\naliases:\n  - melody\n  - song\nfields:\n  a: {type: string}\n"
        do {
            _ = try KindLoader.parse([("kinds/a.yaml", a), ("kinds/b.yaml", b)])
            Issue.record("duplicate alias accepted")
        } catch {
            #expect(
                error.problems.map(\.description) == [
                    "kinds/b.yaml:4:5: kind name or alias 'song' is already used by kind 'song' (kinds/a.yaml); names and aliases must be unique"
                ])
        }
        let repeated = problems("name: tune\naliases: [melody, air, melody]\nfields:\n  a: {type: string}\n")
        #expect(repeated.count == 1 && repeated.first?.hasPrefix("kinds/sample.yaml:2:24: ") == true, "\(repeated)")
        // A kind name used twice stays reported at the second kind's `name:`.
        let c = "name: song\naliases: [x]\nfields:\n  a: {type: string}\n"
        do {
            _ = try KindLoader.parse([("kinds/a.yaml", a), ("kinds/c.yaml", c)])
            Issue.record("duplicate kind accepted")
        } catch {
            #expect(error.problems.map { "\($0.file):\($0.line):\($0.column)" } == ["kinds/c.yaml:1:7"])
        }
    }

    @Test func malformedYAMLHasPosition() {
        let found = problems("fields:\n  name: {type: string\n  other: 1\n")
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("kinds/sample.yaml:") == true)
        #expect(found.first?.contains("malformed YAML") == true)
        let parts = found.first?.split(separator: ":") ?? []
        #expect(parts.count >= 3 && Int(parts[1]) != nil && Int(parts[2]) != nil)
    }

    @Test func duplicateFieldKey() {
        let found = problems("fields:\n  a: {type: string}\n  a: {type: integer}\n")
        #expect(found.contains { $0.contains("duplicate") })
    }

    @Test func allProblemsAtOnce() {
        let yaml = """
            name: multi
            colour: red
            fields:
              a: {type: strin}
              b: {type: string, max_items: 2}
              id: {type: integer}
              c: {type: integer, min: 9, max: 1}
            """
        let found = problems(yaml)
        #expect(found.count == 5, "\(found)")
        #expect(found.contains { $0.hasPrefix("kinds/sample.yaml:2:1:") && $0.contains("unknown kind key 'colour'") })
    }

    @Test func enumAndListShapes() {
        expectProblem("fields:\n  m: {type: enum}\n", "needs `values:`")
        expectProblem("fields:\n  m: {type: enum, values: []}\n", "at least one value")
        expectProblem("fields:\n  m: {type: enum, values: [a, a]}\n", "must not repeat")
        expectProblem("fields:\n  l: {type: list}\n", "needs `items:`")
        expectProblem("fields:\n  l: {type: list, items: {type: list}}\n", "items have unknown type 'list'")
        expectProblem("fields:\n  l: {type: list, items: {type: string}, unique: true}\n", "`unique` does not apply to a list")
        expectProblem("fields:\n  l: {type: list, items: {type: string, min: 1}}\n", "`min` does not apply to a string")
    }

    @Test func invalidDefaultsAndPatterns() {
        expectProblem("fields:\n  n: {type: integer, min: 1, default: 0}\n", "default is invalid")
        expectProblem("fields:\n  n: {type: string, default: 5}\n", "default is invalid")
        expectProblem("fields:\n  n: {type: string, pattern: \"[a-\"}\n", "not a valid regular expression")
        // Compiles in both dialects but means something else to each: refused by name.
        expectProblem("fields:\n  n: {type: string, pattern: \"\\\\bword\"}\n", "word boundary in ICU but a backspace in PostgreSQL")
        expectProblem("fields:\n  n: {type: list, items: {type: string, pattern: \"^a\\\\Z\"}}\n", "only at the very end in PostgreSQL")
        #expect(PatternDialect.divergence(in: #"^a\\b$"#) == nil, "an escaped backslash followed by b is a literal b")
        #expect(PatternDialect.divergence(in: #"^[a-z]+\d{2}$"#) == nil)
    }

    @Test func uploadRules() {
        expectProblem("fields:\n  d: {type: integer}\nupload:\n  formats: [mp3, wma]\n", "unknown audio format 'wma'")
        expectProblem("fields:\n  d: {type: integer}\nupload:\n  max_size: lots\n", "max_size 'lots' is not a size")
        expectProblem("fields:\n  d: {type: string}\nupload:\n  duration_field: d\n", "must be an integer or number field")
        expectProblem("fields:\n  d: {type: integer}\nupload:\n  duration_field: x\n", "is not a field")
        expectProblem("fields:\n  d: {type: integer}\nupload:\n  duration_tolerance: 2\n", "needs upload.duration_field")
        expectProblem("fields:\n  d: {type: integer}\nupload:\n  speed: 2\n", "unknown upload key 'speed'")
    }

    @Test func byteSizes() {
        #expect(ByteSize.parse("200MB") == 200_000_000)
        #expect(ByteSize.parse("1.5 GiB") == 1_610_612_736)
        #expect(ByteSize.parse("512k") == 524_288)
        #expect(ByteSize.parse("1048576") == 1_048_576)
        #expect(ByteSize.parse("12 parsecs") == nil)
        #expect(DurationTolerance.parse("2s") == .seconds(2))
        #expect(DurationTolerance.parse("5%") == .percent(5))
        #expect(DurationTolerance.parse("x") == nil)
    }

    @Test func missingFolderIsReported() {
        #expect(throws: KindLintError.self) { try KindLoader.load(directory: "/nonexistent/kinds") }
    }
}

let repoRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()
