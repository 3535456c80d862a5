import Foundation
import KindModel
import TestSupport
import Testing

@testable import Schema

/// `migrate check`'s database half: drift between pg_catalog and what the applied migrations produce.
@Suite struct DriftTests {
    @Test func migratedDatabaseHasNoDrift() async throws {
        try await withFixture { f in
            try await f.migrate(try projectKinds())
            try await f.migrate(try kinds(YAML.song("isrc: {type: string, max_length: 12, unique: true, index: true}")), allowDestructive: true)
            let report = try await f.runner { try await $0.checkDrift() }
            #expect(report.isClean, "\(report)")
            #expect(report.comparedWith == "0002_add_song_isrc_drop_audio_book")
            // Nothing of the scratch schema is left behind.
            #expect(try await f.column("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'audio_server_check%'").isEmpty)
        }
    }

    @Test func pendingFilesAreReportedAndTheAppliedSnapshotIsCompared() async throws {
        try await withFixture { f in
            try await f.migrate(try kinds(YAML.song))
            try f.generate(try kinds(YAML.song("isrc: {type: text}")))
            let report = try await f.runner { try await $0.checkDrift() }
            #expect(report.pending == ["0002_add_song_isrc"])
            #expect(report.differences.isEmpty, "the database matches 0001, the last applied file")
            #expect(!report.isClean)
        }
    }

    @Test func handMadeChangesAreDrift() async throws {
        try await withFixture { f in
            try await f.migrate(try projectKinds())
            try await f.execute(
                "ALTER TABLE song DROP CONSTRAINT song_duration_max",
                "ALTER TABLE song ALTER COLUMN name TYPE varchar(50)",
                "ALTER TABLE podcast ALTER COLUMN host DROP NOT NULL",
                "ALTER TABLE podcast ALTER COLUMN participants SET DEFAULT ARRAY['x']::text[]",
                "ALTER TABLE audio_book ADD COLUMN extra text",
                "CREATE INDEX song_sneaky ON song (duration)",
                "CREATE TABLE stray (id int)",
                "DROP FUNCTION audio_server.items_match(text[], text)",
                "ALTER TABLE podcast DROP CONSTRAINT podcast_participants_items_not_null",
                #"ALTER TABLE podcast ADD CONSTRAINT podcast_participants_items_not_null CHECK (array_position("participants", NULL) IS NULL) NOT VALID"#
            )
            let report = try await f.runner { try await $0.checkDrift() }
            let text = report.differences.joined(separator: "\n")
            // The varchar(50) also shows in the name's two length CHECKs, which PostgreSQL now reads with a cast.
            #expect(report.differences.count == 11, "\(text)")
            #expect(
                text.contains(
                    #"table "song": constraint "song_name_max_length" is CHECK ((char_length((name)::text) <= 100)) in the database, but the migrations make it CHECK ((char_length(name) <= 100))"#
                ))
            #expect(text.contains(#"table "song": constraint "song_duration_max" (CHECK ((duration <= 2147483647))) is missing from the database"#))
            #expect(
                text.contains(
                    #"table "song": column "name" is character varying(50) NOT NULL in the database, but the migrations make it text NOT NULL"#
                ))
            #expect(text.contains(#"table "podcast": column "host" is text in the database"#))
            #expect(
                text.contains(
                    #"table "podcast": column "participants" is text[] NOT NULL DEFAULT ARRAY['x'::text]"#))
            #expect(text.contains(#"table "audio_book": column "extra" exists in the database, but no migration creates it"#))
            #expect(text.contains(#"table "song": index "song_sneaky""#))
            #expect(text.contains(#"table "stray" exists in the database, but no migration creates it"#))
            #expect(text.contains("helper function audio_server.items_match(items text[], pattern text) is missing"))
            #expect(
                text.contains(
                    #"table "podcast": constraint "podcast_participants_items_not_null" is CHECK ((array_position(participants, NULL::text) IS NULL)) NOT VALID in the database, but the migrations make it CHECK ((array_position(participants, NULL::text) IS NULL))"#
                ))
        }
    }

    @Test func emptyDatabaseWithNothingAppliedIsCleanButPending() async throws {
        try await withFixture { f in
            try f.generate(try kinds(YAML.song))
            let report = try await f.runner { try await $0.checkDrift() }
            #expect(report.comparedWith == nil && report.differences.isEmpty && report.pending == ["0001_initial"])
        }
    }
}
