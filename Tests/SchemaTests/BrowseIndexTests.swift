import Foundation
import KindModel
import TestSupport
import Testing

@testable import Schema

/// Browsing fields (`browse:`) become `(field, id)` indexes through the normal migration path.
@Suite struct BrowseIndexTests {
    static func song(duration: String, extra: String = "") -> String {
        YAML.song(extra, duration: "duration: {type: integer, required: true, min: 1, max: 2147483647\(duration)}") + "\n"
    }

    @Test func browsingAFieldCreatesOneIndexPerDirectionInTheListOrder() throws {
        let plain = try kinds(Self.song(duration: ""))
        let browsed = try kinds(Self.song(duration: ", browse: true"))
        let added = try plan(from: plain, to: browsed)
        #expect(
            added.steps == [
                .createKindIndex(kind: "song", index: KindIndex(["duration"])),
                .createKindIndex(kind: "song", index: KindIndex(["-duration"])),
            ])
        let text = added.fileText(name: "0002_x")
        #expect(text.contains(#"CREATE INDEX "song_duration_idx" ON "song" ("duration" ASC NULLS LAST, "id" ASC);"#), "\(text)")
        #expect(text.contains(#"CREATE INDEX "song_duration_desc_idx" ON "song" ("duration" DESC NULLS LAST, "id" ASC);"#), "\(text)")
        // A new kind gets them in its CREATE TABLE migration.
        let ddl = TableDDL.create(try #require(browsed.kind(named: "song")))
        #expect(
            ddl.suffix(2) == [
                #"CREATE INDEX "song_duration_idx" ON "song" ("duration" ASC NULLS LAST, "id" ASC)"#,
                #"CREATE INDEX "song_duration_desc_idx" ON "song" ("duration" DESC NULLS LAST, "id" ASC)"#,
            ])
        // Narrowing to one direction drops the other; removing `browse` drops the rest.
        let ascending = try kinds(Self.song(duration: ", browse: asc"))
        #expect(
            try plan(from: browsed, to: ascending).steps == [
                .dropKindIndex(kind: "song", name: "song_duration_desc_idx", index: KindIndex(["-duration"]))
            ])
        #expect(
            try plan(from: ascending, to: plain).steps == [
                .dropKindIndex(kind: "song", name: "song_duration_idx", index: KindIndex(["duration"]))
            ])
        // Moving an `indexes: [[duration]]` entry to `browse: asc` is the same index: nothing to do.
        let entry = try kinds(Self.song(duration: "") + "indexes:\n  - [duration]\n")
        #expect(try plan(from: entry, to: ascending).isEmpty)
    }

    @Test func renamingABrowsingFieldRenamesItsIndexes() throws {
        let old = try kinds(Self.song(duration: "", extra: "length: {type: integer, browse: true}"))
        let new = try kinds(Self.song(duration: "", extra: "seconds: {type: integer, browse: true, renamed_from: length}"))
        let p = try plan(from: old, to: new)
        #expect(
            p.steps == [
                .renameField(kind: "song", from: "length", to: "seconds"),
                .renameObjects(
                    kind: "song",
                    renames: [
                        ObjectRename(.index, from: "song_length_idx", to: "song_seconds_idx"),
                        ObjectRename(.index, from: "song_length_desc_idx", to: "song_seconds_desc_idx"),
                    ]),
            ])
    }

    @Test func snapshotsKeepBrowseAndOldOnesDecodeWithout() throws {
        let catalog = try kinds(Self.song(duration: ", browse: desc"))
        let text = Snapshot.encode(catalog.kinds)
        #expect(text.contains("\"browse\" : \"desc\""))
        #expect(try Snapshot.decode(text) == catalog.kinds)
        #expect(!Snapshot.encode(try kinds(Self.song(duration: "")).kinds).contains("browse"))
    }
}
