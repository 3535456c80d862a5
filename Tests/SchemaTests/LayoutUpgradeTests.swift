import Foundation
import KindModel
import PostgresNIO
import TestSupport
import Testing

@testable import Schema

/// Installations made before string lengths were named CHECKs (`SchemaLayout.varcharStrings`):
/// `migrate check` compares them with what *their* migrations made, a server still serves them,
/// and `migrate generate` writes the upgrade, which keeps every row.
@Suite struct LayoutUpgradeTests {
    /// The repository's migrations 0001–0004, written by the first layout (their snapshots are arrays).
    static func copyFirstLayoutMigrations(into path: String) throws {
        let migrations = TestDatabase.repositoryRoot.appendingPathComponent("migrations").path
        for name in try FileManager.default.contentsOfDirectory(atPath: migrations) where name < "0005" {
            try FileManager.default.copyItem(atPath: migrations + "/" + name, toPath: path + "/" + name)
        }
    }

    @Test func aFirstLayoutDatabaseIsNotDriftAndUpgradesKeepingItsRows() async throws {
        try await withFixture("layout") { f in
            try Self.copyFirstLayoutMigrations(into: f.path)
            #expect(try f.directory.currentState().layout == .varcharStrings)
            #expect(try await f.apply().count == 4)
            try await f.execute(
                "INSERT INTO song (name, duration) VALUES (repeat('n', 100), 5)",
                "INSERT INTO podcast (name, duration, host, participants) VALUES ('p', 1, 'h', ARRAY[repeat('x', 100), 'y'])")
            #expect(try await f.catalog().tables["song"]?.columns["name"]?.type == "character varying(100)")
            let before = try await f.runner { try await $0.checkDrift() }
            #expect(before.isClean, "compared with the tables the first layout makes: \(before)")

            // What a server checks leaves the layout out; what `migrate generate` writes holds the upgrade.
            let kinds = try projectKinds()
            #expect(try f.directory.outdatedLayout() == .varcharStrings)
            #expect(try f.directory.pendingKindChanges(for: kinds).isEmpty)
            let upgrade = try f.generate(kinds, name: "string_length_constraints")
            #expect(upgrade.text.contains(#"ALTER TABLE "song" ALTER COLUMN "name" TYPE text"#))
            #expect(upgrade.text.contains(#"ALTER TABLE "podcast" ALTER COLUMN "participants" TYPE text[]"#))
            #expect(!upgrade.text.contains("[data-dependent]"), "a varchar(n) column already held at most n characters")
            #expect(try await f.apply() == [upgrade.name])

            let after = try await f.runner { try await $0.checkDrift() }
            #expect(after.isClean, "\(after)")
            #expect(try f.directory.outdatedLayout() == nil)
            #expect(try f.directory.pendingPlan(for: kinds).isEmpty)
            #expect(try await f.rows("SELECT char_length(name)::text FROM song") == [["100"]])
            #expect(try await f.rows("SELECT array_to_string(participants, ',') FROM podcast") == [[String(repeating: "x", count: 100) + ",y"]])
            let song = try #require(try await f.catalog().tables["song"])
            #expect(song.columns["name"]?.type == "text")
            #expect(song.constraints["song_name_max_length"]?.definition == "CHECK ((char_length(name) <= 100))")

            // A value too long is now refused by the named rule (which names field and rule), not by the type.
            do {
                try await f.execute("INSERT INTO song (name, duration) VALUES (repeat('n', 101), 5)")
                Issue.record("a 101-character name was stored")
            } catch let error as PSQLError {
                #expect(error.serverInfo?[.sqlState] == "23514")
                #expect(error.serverInfo?[.constraintName] == "song_name_max_length")
            }
        }
    }

    @Test func snapshotsSayTheirLayout() throws {
        let kinds = try projectKinds().kinds
        let current = Snapshot.encode(kinds)
        #expect(current.hasPrefix("{"))
        #expect(try Snapshot.decodeState(current) == SchemaState(kinds: kinds.map(Snapshot.normalized), layout: .current))
        let first = Snapshot.encode(kinds, layout: .varcharStrings)
        #expect(first.hasPrefix("["), "the first layout's snapshots stay arrays, byte for byte")
        #expect(try Snapshot.decodeState(first).layout == .varcharStrings)
        #expect(throws: (any Error).self) { try Snapshot.decodeState(#"{"kinds": [], "layout": 99}"#) }
    }
}
