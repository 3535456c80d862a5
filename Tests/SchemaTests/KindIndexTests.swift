import Foundation
import KindModel
import TestSupport
import Testing

@testable import Schema

/// `indexes:` entries: their DDL, names, migration steps and snapshot form. No database.
@Suite struct KindIndexTests {
    static let hostDurationName = KindIndex(["host", "-duration", "name"])

    /// A song with extra fields and the given `indexes:` YAML (one entry per element).
    static func song(_ indexes: [String], header: String = "name: song", extra: String = "host: {type: string, max_length: 100}") -> String {
        YAML.song(extra, header: header) + (indexes.isEmpty ? "" : "\nindexes:\n" + indexes.map { "  - \($0)" }.joined(separator: "\n")) + "\n"
    }

    @Test func ddlMatchesTheListQueryOrderAndEndsWithID() throws {
        #expect(
            TableDDL.createIndex(kind: "podcast", Self.hostDurationName)
                == #"CREATE INDEX "podcast_host_duration_desc_name_idx" ON "podcast" ("host" ASC NULLS LAST, "duration" DESC NULLS LAST, "name" ASC NULLS LAST, "id" ASC)"#
        )
        // An entry that already ends with id (either direction) gets no second id.
        #expect(
            TableDDL.createIndex(kind: "song", KindIndex(["-created_at", "-id"]))
                == #"CREATE INDEX "song_created_at_desc_id_desc_idx" ON "song" ("created_at" DESC NULLS LAST, "id" DESC NULLS LAST)"#)
    }

    @Test func createTableEmitsEntriesAfterFieldIndexes() throws {
        let kind = try #require(try kinds(Self.song(["[host, -duration]"], extra: "host: {type: string, index: true}")).kind(named: "song"))
        let ddl = TableDDL.create(kind)
        #expect(ddl.count == 3)
        #expect(ddl[1] == #"CREATE INDEX "song_host_idx" ON "song" ("host")"#)
        #expect(ddl[2] == #"CREATE INDEX "song_host_duration_desc_idx" ON "song" ("host" ASC NULLS LAST, "duration" DESC NULLS LAST, "id" ASC)"#)
    }

    @Test func namesDifferByDirectionAndFitPostgresLimit() {
        let a = FieldConstraints.indexName(table: "song", index: KindIndex(["host", "name"]))
        let b = FieldConstraints.indexName(table: "song", index: KindIndex(["host", "-name"]))
        #expect(a == "song_host_name_idx" && b == "song_host_name_desc_idx")
        let long = KindIndex((1...8).map { "-" + String(repeating: "f", count: 40) + "\($0)" })
        let name = FieldConstraints.indexName(table: String(repeating: "k", count: 48), index: long)
        #expect(name.utf8.count <= 63)
        #expect(name == FieldConstraints.indexName(table: String(repeating: "k", count: 48), index: long), "stable")
    }

    @Test func newEntryIsCreatedRemovedEntryIsDroppedBeforeFields() throws {
        let base = try kinds(Self.song([]))
        let withIndex = try kinds(Self.song(["[host, -duration, name]"]))
        let added = try plan(from: base, to: withIndex)
        #expect(added.steps == [.createKindIndex(kind: "song", index: Self.hostDurationName)])
        #expect(added.steps[0].summary == "create index song_host_duration_desc_name_idx on 'song' for sorting by [host, -duration, name]")
        #expect(added.steps[0].safety == .safe)
        #expect(
            added.fileText(name: "0002_x").contains(
                #"CREATE INDEX "song_host_duration_desc_name_idx" ON "song" ("host" ASC NULLS LAST, "duration" DESC NULLS LAST, "name" ASC NULLS LAST, "id" ASC);"#
            ))
        #expect(MigrationDirectory.defaultName(added) == "index_song_host_duration_name")

        // Removing the entry together with one of its fields: the index goes first.
        let removed = try plan(from: withIndex, to: try kinds(Self.song([], extra: "")), allowDestructive: true)
        #expect(
            removed.steps == [
                .dropKindIndex(kind: "song", name: "song_host_duration_desc_name_idx", index: Self.hostDurationName),
                .dropField(kind: "song", field: "host"),
            ])
        #expect(removed.steps[0].sql == [#"DROP INDEX "song_host_duration_desc_name_idx""#])
        #expect(removed.steps[0].summary == "drop index song_host_duration_desc_name_idx on 'song' (was for sorting by [host, -duration, name])")
    }

    @Test func reorderedEntriesNeedNothingChangedDirectionIsANewIndex() throws {
        let two = try kinds(Self.song(["[host, name]", "[-duration]"]))
        #expect(try plan(from: two, to: try kinds(Self.song(["[-duration]", "[host, name]"]))).isEmpty)
        let flipped = try plan(from: two, to: try kinds(Self.song(["[host, -name]", "[-duration]"])))
        #expect(
            flipped.steps == [
                .dropKindIndex(kind: "song", name: "song_host_name_idx", index: KindIndex(["host", "name"])),
                .createKindIndex(kind: "song", index: KindIndex(["host", "-name"])),
            ])
    }

    @Test func kindRenameRenamesTheIndex() throws {
        let old = try kinds(Self.song(["[host, -duration, name]"]))
        let new = try kinds(Self.song(["[host, -duration, name]"], header: "name: track\nrenamed_from: song"))
        let p = try plan(from: old, to: new)
        guard case .renameObjects(_, let renames) = p.steps[1] else {
            Issue.record("\(p.steps)")
            return
        }
        #expect(renames.last == ObjectRename(.index, from: "song_host_duration_desc_name_idx", to: "track_host_duration_desc_name_idx"))
        #expect(p.steps.count == 2, "nothing dropped or re-created: \(p.steps)")
    }

    @Test func fieldRenameInsideAnEntryRenamesOnlyTheIndexName() throws {
        let old = try kinds(Self.song(["[host, -duration, name]"]))
        let new = try kinds(Self.song(["[presenter, -duration, name]"], extra: "presenter: {type: string, max_length: 100, renamed_from: host}"))
        let p = try plan(from: old, to: new)
        #expect(
            p.steps == [
                .renameField(kind: "song", from: "host", to: "presenter"),
                .renameObjects(
                    kind: "song",
                    renames: [
                        ObjectRename(.constraint, from: "song_host_max_length", to: "song_presenter_max_length"),
                        ObjectRename(.index, from: "song_host_duration_desc_name_idx", to: "song_presenter_duration_desc_name_idx"),
                    ]),
            ])
        // Renaming a field and dropping the entry in one go drops the index by the name it has.
        let dropped = try plan(from: old, to: try kinds(Self.song([], extra: "presenter: {type: string, max_length: 100, renamed_from: host}")))
        #expect(dropped.steps.contains(.dropKindIndex(kind: "song", name: "song_host_duration_desc_name_idx", index: Self.hostDurationName)))
    }

    @Test func snapshotsStoreEntriesAndOldSnapshotsWithoutThemDecode() throws {
        let catalog = try kinds(Self.song(["[host, -duration, name]"]))
        let text = Snapshot.encode(catalog.kinds)
        #expect(text.contains("\"indexes\" : [\n        [\n          \"host\",\n          \"-duration\",\n          \"name\"\n        ]\n      ]"))
        #expect(try Snapshot.decode(text) == catalog.kinds)
        // Kinds without entries encode without the key, so snapshots written before it existed stay byte-identical.
        #expect(!Snapshot.encode(try kinds(Self.song([])).kinds).contains("indexes"))
        let migrations = TestDatabase.repositoryRoot.appendingPathComponent("migrations")
        for old in ["0001_initial", "0002_index_podcast_host"] {
            let data = try Data(contentsOf: migrations.appendingPathComponent(old + ".kinds.json"))
            let decoded = try Snapshot.decodeState(String(decoding: data, as: UTF8.self))
            #expect(decoded.kinds.allSatisfy { $0.indexes.isEmpty })
            #expect(decoded.layout == .varcharStrings, "a snapshot from before layouts is the first layout")
            #expect(
                Snapshot.encode(decoded.kinds, layout: decoded.layout) == String(decoding: data, as: UTF8.self), "\(old) re-encodes byte for byte")
        }
    }
}
