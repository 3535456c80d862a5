import Foundation
import KindModel
import Testing

@testable import Schema

/// The planner as a pure function: which steps, in which order, with which class; and what it refuses.
@Suite struct PlannerTests {
    let base: KindCatalog

    init() throws { base = try kinds(YAML.song) }

    @Test func noChangeIsAnEmptyPlan() throws {
        #expect(try plan(from: base, to: base).isEmpty)
        // Only application-side metadata changed: no migration.
        let cosmetic = try kinds(
            """
            name: song
            description: changed
            aliases: [track]
            additional_fields: ignore
            fields:
              duration: {type: integer, required: true, min: 1, max: 2147483647, description: moved first}
              name: {type: string, required: true, min_length: 1, max_length: 100}
            """)
        #expect(try plan(from: base, to: cosmetic).isEmpty)
    }

    @Test func initialPlanInstallsHelpersThenCreatesKindsByName() throws {
        let p = try MigrationPlanner.plan(from: [], to: try projectKinds().kinds)
        #expect(p.steps.first == .installHelpers)
        let created = p.steps.compactMap { if case .createKind(let k) = $0 { k.name } else { nil } }
        #expect(created == ["audio_book", "podcast", "song"])
    }

    @Test func newNullableFieldAndItsConstraintsAreSafe() throws {
        let p = try plan(
            from: base, to: try kinds(YAML.song("isrc: {type: string, max_length: 12, pattern: \"^[A-Z0-9]{12}$\", unique: true, index: true}")))
        #expect(p.steps.map(\.safety) == [.safe, .safe, .safe, .safe, .safe])
        guard case .addField(let k, let f) = p.steps[0] else {
            Issue.record("\(p.steps)")
            return
        }
        #expect(k == "song" && f.name == "isrc")
        #expect(p.steps[4] == .createIndex(kind: "song", field: "isrc"))
        #expect(p.steps[0].sql == [#"ALTER TABLE "song" ADD COLUMN "isrc" text"#])
        // Its length is a named rule like the others, safe on a column that holds only NULL.
        #expect(p.steps[1].summary.hasPrefix(#"add constraint song_isrc_max_length on 'song' (max_length: CHECK (char_length("isrc") <= 12))"#))
    }

    @Test func requiredFieldNeedsADefault() throws {
        let problems = planningProblems(from: base, to: try kinds(YAML.song("genre: {type: string, required: true}")))
        #expect(problems.count == 1)
        #expect(problems[0].contains("'song.genre' is new and required but has no default"))
        #expect(problems[0].contains("add a `default:`"))
        let ok = try plan(from: base, to: try kinds(YAML.song("genre: {type: string, required: true, default: unknown}")))
        #expect(ok.steps[0].sql == [#"ALTER TABLE "song" ADD COLUMN "genre" text NOT NULL DEFAULT 'unknown'"#])
        #expect(ok.steps[0].summary.contains("existing rows get the default 'unknown'"))
        // A new unique field with a default gives every row the same value: data-dependent.
        let unique = try plan(from: base, to: try kinds(YAML.song("code: {type: string, unique: true, default: x}")))
        #expect(unique.steps.contains { $0.safety == .dataDependent })
        // A required list needs no default: absent means empty.
        #expect(try !plan(from: base, to: try kinds(YAML.song("tags: {type: list, required: true, items: {type: string}}"))).isEmpty)
    }

    @Test func destructiveChangesNeedTheFlagAndSayWhatIsLost() throws {
        let twoKinds = try kinds(YAML.song, "name: jingle\nfields:\n  label: {type: text}\n")
        let problems = planningProblems(from: twoKinds, to: try kinds(YAML.song("", duration: "")))
        #expect(problems.count == 2, "\(problems)")
        // Each says the whole command to run (also what `serve` prints), and a dropped kind's files.
        #expect(
            problems.contains {
                $0.contains("kind 'jingle' was removed") && $0.contains("ALL its rows")
                    && $0.contains("`audio-server migrate generate --allow-destructive`") && $0.contains("storage verify --repair")
            })
        #expect(
            problems.contains {
                $0.contains("field 'song.duration' was removed") && $0.contains("every row") && $0.contains("renamed_from: duration")
                    && $0.contains("`audio-server migrate generate --allow-destructive`")
            })
        let allowed = try plan(from: twoKinds, to: try kinds(YAML.song("", duration: "")), allowDestructive: true)
        #expect(allowed.steps == [.dropField(kind: "song", field: "duration"), .dropKind("jingle")])
        #expect(allowed.isDestructive)
    }

    @Test func renameFieldKeepsDataAndRenamesItsConstraints() throws {
        let p = try plan(
            from: base, to: try kinds(YAML.song(name: "title: {type: string, renamed_from: name, required: true, min_length: 1, max_length: 100}")))
        #expect(
            p.steps == [
                .renameField(kind: "song", from: "name", to: "title"),
                .renameObjects(
                    kind: "song",
                    renames: [
                        ObjectRename(.constraint, from: "song_name_min_length", to: "song_title_min_length"),
                        ObjectRename(.constraint, from: "song_name_max_length", to: "song_title_max_length"),
                    ]),
            ])
        #expect(p.steps.allSatisfy { $0.safety == .safe })
    }

    @Test func renameKindRenamesTableKeyAndSequence() throws {
        let p = try plan(from: base, to: try kinds(YAML.song(header: "name: track\nrenamed_from: song")))
        #expect(p.steps.first == .renameKind(from: "song", to: "track"))
        guard case .renameObjects(let k, let renames) = p.steps[1] else {
            Issue.record("\(p.steps)")
            return
        }
        #expect(k == "track")
        #expect(
            renames.map(\.to) == [
                "track_pkey", "track_id_seq", "track_file_consistent",
                "track_name_min_length", "track_name_max_length", "track_duration_min", "track_duration_max",
            ])
        #expect(p.steps.count == 2)
        // Once generated, the hint is stale (its old name is gone) and ignored.
        #expect(
            try plan(from: try kinds(YAML.song(header: "name: track")), to: try kinds(YAML.song(header: "name: track\nrenamed_from: song"))).isEmpty)
    }

    @Test func ambiguousRenamesAreRefused() throws {
        let two = try kinds(YAML.song, "name: track\nfields:\n  x: {type: text}\n")
        // Renaming onto a name that exists.
        let onto = planningProblems(from: two, to: try kinds(YAML.song(header: "name: track\nrenamed_from: song")), allowDestructive: true)
        #expect(onto.contains { $0.contains("both 'track' and 'song' exist") })
        // The old name is still declared.
        let still = planningProblems(from: base, to: try kinds(YAML.song, "name: track\nrenamed_from: song\nfields:\n  x: {type: text}\n"))
        #expect(still.contains { $0.contains("is still declared") })
    }

    @Test func losslessTypeChanges() throws {
        let old = try kinds(YAML.song("n: {type: integer, min: 0, max: 1000}\nt: {type: string, max_length: 20}\nw: {type: string, max_length: 20}"))
        let new = try kinds(YAML.song("n: {type: number, min: 0, max: 1000}\nt: {type: text}\nw: {type: string, max_length: 40}"))
        let p = try plan(from: old, to: new)
        let changes = p.steps.filter { if case .changeColumnType = $0 { true } else { false } }
        #expect(changes.map { $0.sql[0] } == [#"ALTER TABLE "song" ALTER COLUMN "n" TYPE double precision"#])
        // Strings and texts share the text column: a length is only ever its CHECK.
        #expect(p.steps.contains(.dropConstraint(kind: "song", name: "song_t_max_length", rule: .maxLength)))
        #expect(
            p.steps.contains {
                if case .addConstraintSafely(_, let c, _) = $0 { c.name == "song_w_max_length" && c.definition.contains("<= 40") } else { false }
            })
        #expect(p.steps.allSatisfy { $0.safety == .safe }, "\(p.steps.map(\.summary))")
    }

    @Test func narrowingIsGuardedNotTruncating() throws {
        let p = try plan(from: base, to: try kinds(YAML.song(name: "name: {type: string, required: true, min_length: 1, max_length: 50}")))
        // A shorter max_length is a tighter CHECK, validated against the rows; nothing is cast or truncated.
        #expect(
            p.steps.map(\.summary) == [
                "drop constraint song_name_max_length on 'song' (max_length)",
                #"add constraint song_name_max_length on 'song' (max_length: CHECK (char_length("name") <= 50)); fails if existing rows break it"#,
            ])
        #expect(p.steps.map(\.safety) == [.safe, .dataDependent])
        // text → string bounds a column that had none: validated too; enum → string within the longest value: safe.
        let bounded = try plan(from: try kinds(YAML.song("n: {type: text}")), to: try kinds(YAML.song("n: {type: string, max_length: 5}")))
        #expect(bounded.steps.map(\.safety) == [.dataDependent], "\(bounded.steps.map(\.summary))")
        let fromEnum = try plan(
            from: try kinds(YAML.song("n: {type: enum, values: [calm, loud]}")), to: try kinds(YAML.song("n: {type: string, max_length: 5}")))
        #expect(fromEnum.steps.allSatisfy { $0.safety == .safe }, "\(fromEnum.steps.map(\.summary))")
        // An unbounded integer becoming a number is guarded beyond 2^53.
        let unbounded = try plan(from: try kinds(YAML.song("n: {type: integer}")), to: try kinds(YAML.song("n: {type: number}")))
        guard case .guardedChangeColumnType(_, _, _, let check2, _) = unbounded.steps.first else {
            Issue.record("\(unbounded.steps)")
            return
        }
        #expect(check2 == #"abs("n") <= 9007199254740992"#)
    }

    @Test func lossyTypeChangesAreRefusedWithTheReason() throws {
        let cases: [(String, String, String)] = [
            ("n: {type: number}", "n: {type: integer}", "round away fractions"),
            ("n: {type: text}", "n: {type: integer}", "would have to parse text"),
            ("n: {type: datetime}", "n: {type: date}", "drop the time of day"),
            ("n: {type: string}", "n: {type: list, items: {type: string}}", "cannot become a list"),
            ("n: {type: list, items: {type: string}}", "n: {type: string}", "cannot become a single value"),
            ("n: {type: boolean}", "n: {type: text}", "no faithful conversion"),
        ]
        for (from, to, reason) in cases {
            let problems = planningProblems(from: try kinds(YAML.song(from)), to: try kinds(YAML.song(to)))
            #expect(problems.count == 1 && problems[0].contains("is refused: ") && problems[0].contains(reason), "\(from) → \(to): \(problems)")
        }
    }

    @Test func constraintChangesAreDroppedAndReAdded() throws {
        let old = try kinds(YAML.song("mood: {type: enum, values: [calm, loud]}\nbpm: {type: integer, min: 40, max: 200}"))
        let new = try kinds(YAML.song("mood: {type: enum, values: [calm, loud, weird]}\nbpm: {type: integer, min: 60, max: 300}"))
        let p = try plan(from: old, to: new)
        #expect(
            p.steps.map(\.summary) == [
                "drop constraint song_mood_enum on 'song' (enum)",
                "drop constraint song_bpm_min on 'song' (min)",
                "drop constraint song_bpm_max on 'song' (max)",
                #"add constraint song_mood_enum on 'song' (enum: CHECK ("mood" IN ('calm', 'loud', 'weird'))); existing rows satisfy it: it is looser than the rule it replaces"#,
                #"add constraint song_bpm_min on 'song' (min: CHECK ("bpm" >= 60)); fails if existing rows break it"#,
                #"add constraint song_bpm_max on 'song' (max: CHECK ("bpm" <= 300)); existing rows satisfy it: it is looser than the rule it replaces"#,
            ])
        #expect(p.steps.map(\.safety) == [.safe, .safe, .safe, .safe, .dataDependent, .safe])
    }

    @Test func requiredUniqueIndexAndDefaultChanges() throws {
        let old = try kinds(
            YAML.song(
                "a: {type: text}\nb: {type: text, default: x}\nc: {type: text, required: true}\nd: {type: text, max_length: 100, unique: true, index: true}"
            ))
        let new = try kinds(
            YAML.song(
                "a: {type: text, required: true}\nb: {type: text, required: true, default: y}\nc: {type: text}\nd: {type: text, max_length: 100}"))
        let p = try plan(from: old, to: new)
        #expect(
            p.steps == [
                .dropConstraint(kind: "song", name: "song_d_unique", rule: .unique),
                .dropIndex(kind: "song", field: "d"),
                .setDefault(kind: "song", field: new.kinds[0].field(named: "b")!),
                .setNotNull(kind: "song", field: "a"),
                .fillNullsAndSetNotNull(kind: "song", field: new.kinds[0].field(named: "b")!),
                .dropNotNull(kind: "song", field: "c"),
            ])
        #expect(p.steps[4].sql[0] == #"UPDATE "song" SET "b" = 'y' WHERE "b" IS NULL"#)
    }

    @Test func listItemAndCountConstraints() throws {
        let podcast = try projectKinds().kind(named: "podcast")!
        var tighter = podcast
        tighter.fields[3].maxItems = 5
        tighter.fields[3].rules.maxLength = 50
        let p = try MigrationPlanner.plan(from: [podcast], to: [tighter])
        #expect(p.steps.map(\.summary).joined(separator: "\n").contains("podcast_participants_max_items"))
        // A shorter item length is the items' CHECK, tightened and validated; the column keeps its type and default.
        #expect(
            p.steps.contains {
                if case .addConstraint(_, let c) = $0 {
                    c.definition == #"CHECK (audio_server.items_max_length("participants"::text[], 50))"#
                } else {
                    false
                }
            })
        #expect(!p.steps.contains { if case .changeColumnType = $0 { true } else { false } })
        #expect(!p.steps.contains(.dropDefault(kind: "podcast", field: "participants")))
    }

    @Test func outputIsDeterministic() throws {
        let old = try projectKinds()
        var edited = old.kinds
        edited[2].fields.append(FieldDefinition(name: "isrc", type: .string, rules: ValueRules(maxLength: 12), unique: true))
        edited[0].fields[2].name = "narrators"
        edited[0].fields[2].renamedFrom = "narrator"
        let texts = try (0..<5).map { _ in
            try MigrationPlanner.plan(from: old.kinds.shuffled(), to: edited.shuffled()).fileText(name: "0002_x")
        }
        #expect(Set(texts).count == 1)
        #expect(texts[0].contains("--   1. [safe] rename field 'audio_book.narrator' to 'narrators' (values kept)"))
        #expect(texts[0].contains("\nBEGIN;\n") && texts[0].hasSuffix("COMMIT;\n"))
    }

    @Test func generateWritesNothingWithoutChangesAndIdenticalBytesForTwoDevelopers() throws {
        let catalog = try projectKinds()
        let dirs = (0..<2).map { _ in FileManager.default.temporaryDirectory.appendingPathComponent("schema-det-\(UUID().uuidString)").path }
        defer { for d in dirs { try? FileManager.default.removeItem(atPath: d) } }
        var changed = catalog.kinds
        changed[2].fields[0].rules.maxLength = 200
        for d in dirs {
            let directory = MigrationDirectory(path: d)
            _ = try #require(try directory.generate(for: catalog))
            #expect(try directory.generate(for: catalog) == nil, "no change → nothing written")
            let second = try #require(try directory.generate(for: KindCatalog(changed)))
            #expect(second.name == "0002_constrain_song")
        }
        for name in ["0001_initial.sql", "0001_initial.kinds.json", "0002_constrain_song.sql", "0002_constrain_song.kinds.json"] {
            let a = FileManager.default.contents(atPath: dirs[0] + "/" + name)
            let b = FileManager.default.contents(atPath: dirs[1] + "/" + name)
            #expect(a != nil && a == b, "\(name)")
        }
        #expect(try MigrationDirectory(path: dirs[0]).currentKinds() == KindCatalog(changed).kinds.map(Snapshot.normalized))
    }
}
