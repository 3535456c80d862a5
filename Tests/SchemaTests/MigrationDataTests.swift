import Foundation
import KindModel
import TestSupport
import Testing

@testable import Schema

/// For every kind of change: generate the migration, apply it to a real PostgreSQL that holds
/// rows, and check that the rows survived (and that the new rule is enforced).
@Suite struct MigrationDataTests {
    static let threeSongs = #"INSERT INTO "song" ("name", "duration") VALUES ('Blue', 120), ('A much longer title', 240), ('Z', 3)"#

    /// Migrates to `initial`, runs `setup`, then generates the migration to `changed`.
    func scenario(
        _ f: Fixture, initial: KindCatalog, setup: [String], changed: KindCatalog,
        allowDestructive: Bool = false
    ) async throws -> MigrationFile {
        try await f.migrate(initial)
        for sql in setup { try await f.execute(sql) }
        return try f.generate(changed, allowDestructive: allowDestructive)
    }

    @Test func newKind() async throws {
        try await withFixture { f in
            _ = try await scenario(
                f, initial: try kinds(YAML.song), setup: [Self.threeSongs],
                changed: try kinds(YAML.song, "name: jingle\nfields:\n  label: {type: text, required: true, max_length: 30}\n"))
            #expect(try await f.apply().count == 1)
            #expect(try await f.column("SELECT name FROM song ORDER BY id") == ["Blue", "A much longer title", "Z"])
            try await f.execute("INSERT INTO jingle (label) VALUES ('ding')")
            #expect(try await f.column("SELECT label FROM jingle") == ["ding"])
            await #expect(throws: (any Error).self) { try await f.execute("INSERT INTO jingle (label) VALUES (repeat('x', 31))") }
        }
    }

    @Test func removedKindNeedsTheFlagAndKeepsOtherKinds() async throws {
        try await withFixture { f in
            let both = try kinds(YAML.song, "name: jingle\nfields:\n  label: {type: text}\n")
            try await f.migrate(both)
            try await f.execute(Self.threeSongs, "INSERT INTO jingle (label) VALUES ('ding')")
            #expect(throws: MigrationPlanningError.self) { try f.directory.generate(for: try kinds(YAML.song)) }
            #expect(try f.directory.files().count == 1, "nothing written without --allow-destructive")
            try await f.migrate(try kinds(YAML.song), allowDestructive: true)
            #expect(try await f.column("SELECT to_regclass('jingle')::text") == [nil])
            #expect(try await f.column("SELECT count(*)::text FROM song") == ["3"])
        }
    }

    @Test func newNullableField() async throws {
        try await withFixture { f in
            _ = try await scenario(
                f, initial: try kinds(YAML.song), setup: [Self.threeSongs],
                changed: try kinds(YAML.song("isrc: {type: string, max_length: 12, pattern: \"^[A-Z]{2}[A-Z0-9]{10}$\", unique: true}")))
            try await f.apply()
            #expect(
                try await f.rows("SELECT name, duration::text, isrc FROM song ORDER BY id") == [
                    ["Blue", "120", nil], ["A much longer title", "240", nil], ["Z", "3", nil],
                ])
            try await f.execute("UPDATE song SET isrc = 'USABC1234567' WHERE id = 1")
            await #expect(throws: (any Error).self) { try await f.execute("UPDATE song SET isrc = 'bad' WHERE id = 2") }
            await #expect(throws: (any Error).self) { try await f.execute("UPDATE song SET isrc = 'USABC1234567' WHERE id = 3") }
        }
    }

    @Test func newRequiredFieldWithDefaultFillsExistingRows() async throws {
        try await withFixture { f in
            _ = try await scenario(
                f, initial: try kinds(YAML.song), setup: [Self.threeSongs],
                changed: try kinds(
                    YAML.song(
                        "genre: {type: enum, values: [pop, rock, unknown], required: true, default: unknown}\nplays: {type: integer, required: true, default: 0, min: 0}"
                    )))
            try await f.apply()
            #expect(
                try await f.rows("SELECT name, genre, plays::text FROM song ORDER BY id") == [
                    ["Blue", "unknown", "0"], ["A much longer title", "unknown", "0"], ["Z", "unknown", "0"],
                ])
            await #expect(throws: (any Error).self) { try await f.execute("UPDATE song SET genre = NULL") }
            await #expect(throws: (any Error).self) { try await f.execute("UPDATE song SET genre = 'jazz'") }
        }
    }

    @Test func requiredFieldWithoutDefaultIsRefused() async throws {
        try await withFixture { f in
            try await f.migrate(try kinds(YAML.song))
            do {
                _ = try f.directory.generate(for: try kinds(YAML.song("genre: {type: string, required: true}")))
                Issue.record("generated")
            } catch let error as MigrationPlanningError {
                #expect(error.description.contains("add a `default:`"))
            }
            #expect(try f.directory.files().count == 1)
        }
    }

    @Test func removedFieldWithTheFlag() async throws {
        try await withFixture { f in
            let initial = try kinds(YAML.song("notes: {type: text}"))
            try await f.migrate(initial)
            try await f.execute(Self.threeSongs, "UPDATE song SET notes = 'n'")
            #expect(throws: MigrationPlanningError.self) { try f.directory.generate(for: try kinds(YAML.song)) }
            try await f.migrate(try kinds(YAML.song), allowDestructive: true)
            #expect(
                try await f.rows("SELECT name, duration::text FROM song ORDER BY id") == [
                    ["Blue", "120"], ["A much longer title", "240"], ["Z", "3"],
                ])
            #expect(
                try await f.column("SELECT column_name::text FROM information_schema.columns WHERE table_name = 'song' AND column_name = 'notes'")
                    .isEmpty)
        }
    }

    @Test func renamedFieldKeepsValuesAndConstraints() async throws {
        try await withFixture { f in
            let initial = try kinds(YAML.song("code: {type: string, max_length: 10, unique: true, index: true}"))
            try await f.migrate(initial)
            try await f.execute(Self.threeSongs, "UPDATE song SET code = 'c' || id")
            let renamed = try kinds(
                YAML.song(
                    "ref: {type: string, max_length: 10, unique: true, index: true, renamed_from: code}",
                    name: "title: {type: string, required: true, min_length: 1, max_length: 100, renamed_from: name}"))
            try await f.migrate(renamed)
            #expect(try await f.rows("SELECT title, ref FROM song ORDER BY id") == [["Blue", "c1"], ["A much longer title", "c2"], ["Z", "c3"]])
            let catalog = try await f.catalog()
            let song = try #require(catalog.tables["song"])
            #expect(song.constraints["song_title_min_length"] != nil && song.constraints["song_name_min_length"] == nil)
            #expect(song.constraints["song_ref_unique"] != nil && song.indexes["song_ref_idx"] != nil)
            do {
                try await f.execute("UPDATE song SET title = '' WHERE id = 1")
                Issue.record("empty title accepted")
            } catch {
                #expect(String(reflecting: error).contains("song_title_min_length"))
            }
        }
    }

    @Test func renamedKindKeepsRowsAndIds() async throws {
        try await withFixture { f in
            _ = try await scenario(
                f, initial: try kinds(YAML.song), setup: [Self.threeSongs],
                changed: try kinds(YAML.song(header: "name: track\nrenamed_from: song")))
            try await f.apply()
            #expect(try await f.column("SELECT name FROM track ORDER BY id") == ["Blue", "A much longer title", "Z"])
            try await f.execute("INSERT INTO track (name, duration) VALUES ('Next', 1)")
            #expect(try await f.column("SELECT id::text FROM track WHERE name = 'Next'") == ["4"], "the id sequence continues")
            let catalog = try await f.catalog()
            #expect(catalog.sequences == ["track_id_seq"])
            #expect(catalog.tables["track"]?.constraints["track_pkey"]?.type == "p")
            #expect(catalog.tables["track"]?.constraints["track_duration_max"] != nil)
            #expect(catalog.tables["song"] == nil)
        }
    }

    @Test func integerToNumber() async throws {
        try await withFixture { f in
            _ = try await scenario(
                f, initial: try kinds(YAML.song), setup: [Self.threeSongs],
                changed: try kinds(YAML.song(duration: "duration: {type: number, required: true, min: 1, max: 2147483647}")))
            try await f.apply()
            #expect(try await f.column("SELECT duration::text FROM song ORDER BY id") == ["120", "240", "3"])
            try await f.execute("UPDATE song SET duration = 1.5 WHERE id = 3")
            #expect(
                try await f.column(
                    "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'song'::regclass AND attname = 'duration'") == [
                        "double precision"
                    ])
        }
    }

    @Test func integerToNumberRefusesToRoundHugeValues() async throws {
        try await withFixture { f in
            _ = try await scenario(
                f, initial: try kinds(YAML.song("plays: {type: integer}")),
                setup: [Self.threeSongs, "UPDATE song SET plays = 9007199254740993 WHERE id = 2"],
                changed: try kinds(YAML.song("plays: {type: number}")))
            let error = await migrationError { try await f.apply() }
            guard case .statementFailed(_, _, _, _, let violations?) = error else {
                Issue.record("\(String(describing: error))")
                return
            }
            #expect(violations.count == 1 && violations.sampleIDs == [2])
            #expect(try await f.column("SELECT plays::text FROM song WHERE id = 2") == ["9007199254740993"])
            try await f.execute("UPDATE song SET plays = 5 WHERE id = 2")
            try await f.apply()
            #expect(try await f.column("SELECT plays::text FROM song ORDER BY id") == [nil, "5", nil])
        }
    }

    @Test func stringToTextAndWideningMaxLength() async throws {
        try await withFixture { f in
            _ = try await scenario(
                f, initial: try kinds(YAML.song("blurb: {type: string, max_length: 20}")),
                setup: [Self.threeSongs, "UPDATE song SET blurb = 'b' || id"],
                changed: try kinds(
                    YAML.song(
                        "blurb: {type: text, max_length: 1000}",
                        name: "name: {type: string, required: true, min_length: 1, max_length: 200}")))
            try await f.apply()
            #expect(try await f.rows("SELECT name, blurb FROM song ORDER BY id") == [["Blue", "b1"], ["A much longer title", "b2"], ["Z", "b3"]])
            try await f.execute("UPDATE song SET name = repeat('n', 200), blurb = repeat('b', 1000) WHERE id = 1")
            await #expect(throws: (any Error).self) { try await f.execute("UPDATE song SET blurb = repeat('b', 1001) WHERE id = 1") }
        }
    }

    /// The worked example of docs/migrations.md: tighten a limit with bad rows present.
    @Test func narrowingWithBadRowsFailsCleanlyThenSucceeds() async throws {
        try await withFixture { f in
            let file = try await scenario(
                f, initial: try kinds(YAML.song),
                setup: [Self.threeSongs, #"INSERT INTO "song" ("name", "duration") VALUES ('Another long one', 5)"#],
                changed: try kinds(
                    YAML.song(
                        "isrc: {type: string, max_length: 12}",
                        name: "title: {type: string, required: true, min_length: 1, max_length: 10, renamed_from: name}")))
            #expect(
                file.text.contains(
                    #"[data-dependent] add constraint song_title_max_length on 'song' (max_length: CHECK (char_length("title") <= 10)); fails if existing rows break it"#
                ))
            let error = await migrationError { try await f.apply() }
            guard case .statementFailed(let name, let statement, _, let detail, let violations?) = error else {
                Issue.record("\(String(describing: error))")
                return
            }
            #expect(name == file.name)
            #expect(statement == #"ALTER TABLE "song" VALIDATE CONSTRAINT "song_title_max_length""#)
            #expect(violations == RuleViolations(table: "song", rule: "song_title_max_length", count: 2, sampleIDs: [2, 4]))
            #expect(detail?.contains("2 existing rows of song break song_title_max_length, e.g. id 2, 4") == true)
            // Rolled back completely: the rename and the new field of the same file are gone too.
            #expect(try await f.ledger() == ["0001_initial"])
            let song = try #require(try await f.catalog().tables["song"])
            #expect(song.columns["name"]?.type == "text" && song.columns["title"] == nil && song.columns["isrc"] == nil)
            #expect(song.constraints["song_name_max_length"]?.definition == "CHECK ((char_length(name) <= 100))")
            #expect(song.constraints["song_title_max_length"] == nil)
            try await f.execute("UPDATE song SET name = left(name, 10) WHERE id IN (2, 4)")
            #expect(try await f.apply() == [file.name])
            #expect(try await f.column("SELECT title FROM song ORDER BY id") == ["Blue", "A much lon", "Z", "Another lo"])
        }
    }

    @Test func tightenedRangeFailsWithCountAndLoosenedRangeApplies() async throws {
        try await withFixture { f in
            let file = try await scenario(
                f, initial: try kinds(YAML.song), setup: [Self.threeSongs],
                changed: try kinds(YAML.song(duration: "duration: {type: integer, required: true, min: 10, max: 2147483647}")))
            let error = await migrationError { try await f.apply() }
            guard case .statementFailed(_, _, _, _, let violations?) = error else {
                Issue.record("\(String(describing: error))")
                return
            }
            #expect(violations.count == 1 && violations.sampleIDs == [3] && violations.rule == "song_duration_min")
            #expect(try await f.catalog().tables["song"]?.constraints["song_duration_min"]?.definition == "CHECK ((duration >= 1))")
            // Replace the unapplied file with one that loosens instead.
            try FileManager.default.removeItem(atPath: file.path)
            try FileManager.default.removeItem(atPath: f.path + "/" + file.name + ".kinds.json")
            let looser = try f.generate(try kinds(YAML.song(duration: "duration: {type: integer, required: true, min: 0, max: 9999999999}")))
            #expect(!looser.text.contains("[data-dependent]"))
            try await f.apply()
            try await f.execute("UPDATE song SET duration = 0 WHERE id = 1")
            #expect(try await f.column("SELECT duration::text FROM song ORDER BY id") == ["0", "240", "3"])
        }
    }

    @Test func enumValuesPatternAndLengthRules() async throws {
        try await withFixture { f in
            let initial = try kinds(YAML.song("mood: {type: enum, values: [calm, loud, odd]}\ntag: {type: text}"))
            try await f.migrate(initial)
            try await f.execute(
                Self.threeSongs, "UPDATE song SET mood = 'odd', tag = 'x-1' WHERE id = 2", "UPDATE song SET mood = 'calm', tag = 'ok' WHERE id = 1")
            // Removing a value in use fails; the pattern is checked in the same file.
            _ = try f.generate(
                try kinds(YAML.song("mood: {type: enum, values: [calm, loud]}\ntag: {type: text, pattern: \"^[a-z]+$\", min_length: 2}")))
            let error = await migrationError { try await f.apply() }
            guard case .statementFailed(_, _, _, _, let violations?) = error else {
                Issue.record("\(String(describing: error))")
                return
            }
            #expect(violations.rule == "song_mood_enum" && violations.count == 1 && violations.sampleIDs == [2])
            try await f.execute("UPDATE song SET mood = 'loud' WHERE id = 2")
            let error2 = await migrationError { try await f.apply() }
            guard case .statementFailed(_, _, _, _, let v2?) = error2 else {
                Issue.record("\(String(describing: error2))")
                return
            }
            #expect(v2.rule == "song_tag_min_length" || v2.rule == "song_tag_pattern")
            try await f.execute("UPDATE song SET tag = 'abc' WHERE id = 2")
            try await f.apply()
            #expect(try await f.rows("SELECT mood, tag FROM song ORDER BY id") == [["calm", "ok"], ["loud", "abc"], [nil, nil]])
        }
    }

    @Test func uniqueAddedWithDuplicatesReportsThem() async throws {
        try await withFixture { f in
            _ = try await scenario(
                f, initial: try kinds(YAML.song), setup: [Self.threeSongs, #"INSERT INTO song (name, duration) VALUES ('Blue', 1), ('Blue', 2)"#],
                changed: try kinds(YAML.song(name: "name: {type: string, required: true, min_length: 1, max_length: 100, unique: true}")))
            let error = await migrationError { try await f.apply() }
            guard case .statementFailed(_, _, _, _, let violations?) = error else {
                Issue.record("\(String(describing: error))")
                return
            }
            #expect(violations == RuleViolations(table: "song", rule: "song_name_unique", count: 3, sampleIDs: [1, 4, 5]))
            try await f.execute("DELETE FROM song WHERE id > 3")
            try await f.apply()
            await #expect(throws: (any Error).self) { try await f.execute("INSERT INTO song (name, duration) VALUES ('Z', 1)") }
        }
    }

    @Test func requiredAddedWithNullsReportsThemAndDefaultFillsThem() async throws {
        try await withFixture { f in
            _ = try await scenario(
                f, initial: try kinds(YAML.song("album: {type: text}\nlabel: {type: text}")),
                setup: [Self.threeSongs, "UPDATE song SET album = 'A', label = 'L' WHERE id = 1"],
                changed: try kinds(YAML.song("album: {type: text, required: true}\nlabel: {type: text, required: true, default: indie}")))
            let error = await migrationError { try await f.apply() }
            guard case .statementFailed(_, _, _, _, let violations?) = error else {
                Issue.record("\(String(describing: error))")
                return
            }
            #expect(violations.rule == "song_album_not_null_guard" && violations.count == 2 && violations.sampleIDs == [2, 3])
            #expect(try await f.column("SELECT label FROM song ORDER BY id") == ["L", nil, nil], "nothing of the failed file stays")
            try await f.execute("UPDATE song SET album = 'B' WHERE album IS NULL")
            try await f.apply()
            #expect(try await f.rows("SELECT album, label FROM song ORDER BY id") == [["A", "L"], ["B", "indie"], ["B", "indie"]])
            let columns = try #require(try await f.catalog().tables["song"]?.columns)
            #expect(columns["album"]?.notNull == true && columns["label"]?.notNull == true)
        }
    }

    @Test func requiredRemovedIndexAndDefaultChanges() async throws {
        try await withFixture { f in
            _ = try await scenario(
                f, initial: try kinds(YAML.song("genre: {type: text, max_length: 100, default: pop}")), setup: [Self.threeSongs],
                changed: try kinds(
                    YAML.song(
                        "genre: {type: text, max_length: 100, default: rock, index: true}",
                        duration: "duration: {type: integer, min: 1, max: 2147483647}")))
            try await f.apply()
            #expect(try await f.column("SELECT genre FROM song ORDER BY id") == ["pop", "pop", "pop"], "existing values are not rewritten")
            try await f.execute("INSERT INTO song (name) VALUES ('No duration')")
            #expect(try await f.rows("SELECT genre, duration::text FROM song WHERE id = 4") == [["rock", nil]])
            #expect(try await f.catalog().tables["song"]?.indexes["song_genre_idx"] != nil)
            try await f.migrate(
                try kinds(YAML.song("genre: {type: text, max_length: 100}", duration: "duration: {type: integer, min: 1, max: 2147483647}")))
            #expect(try await f.catalog().tables["song"]?.indexes["song_genre_idx"] == nil)
        }
    }

    @Test func listItemRulesOnPodcasts() async throws {
        try await withFixture { f in
            let initial = try projectKinds()
            try await f.migrate(initial)
            try await f.execute(
                #"INSERT INTO podcast (name, duration, host, participants) VALUES ('p1', 1, 'h', ARRAY['a','b','c']), ('p2', 1, 'h', '{}'), ('p3', 1, 'h', ARRAY['x', repeat('y', 60)])"#
            )
            var tighter = initial.kinds
            let i = tighter.firstIndex { $0.name == "podcast" }!
            tighter[i].fields[3].maxItems = 2
            tighter[i].fields[3].rules.maxLength = 50
            _ = try f.generate(KindCatalog(tighter))
            let error = await migrationError { try await f.apply() }
            guard case .statementFailed(_, _, _, _, let violations?) = error else {
                Issue.record("\(String(describing: error))")
                return
            }
            #expect(violations.rule == "podcast_participants_max_items" && violations.sampleIDs == [1])
            try await f.execute("UPDATE podcast SET participants = ARRAY['a','b'] WHERE id = 1")
            let error2 = await migrationError { try await f.apply() }
            guard case .statementFailed(_, _, _, _, let v2?) = error2 else {
                Issue.record("\(String(describing: error2))")
                return
            }
            #expect(v2.rule == "podcast_participants_items_max_length" && v2.sampleIDs == [3])
            try await f.execute("UPDATE podcast SET participants = ARRAY['x'] WHERE id = 3")
            try await f.apply()
            #expect(try await f.column("SELECT array_to_string(participants, ',') FROM podcast ORDER BY id") == ["a,b", "", "x"])
            try await f.execute("INSERT INTO podcast (name, duration, host) VALUES ('p4', 1, 'h')")
            #expect(try await f.column("SELECT cardinality(participants)::text FROM podcast WHERE id = 4") == ["0"], "the default still works")
        }
    }
}
